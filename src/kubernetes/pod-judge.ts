// The pod judgement: from a pod's status alone, whether the step is over and how it ended. Pure: no I/O, time
// passed in, so it is unit-testable on pod objects as the kubelet writes them.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { durationMs, formatDuration } from '../common/duration.js';
import type { PodStep } from '../config/app-config.js';
import { MAIN_CONTAINER } from './pod-manifest.js';

export interface PodJudgeOptions {
  /** How long ErrImagePull/ImagePullBackOff may last before the step fails (a registry hiccup heals itself). */
  imagePullGraceMs?: number;
  /** Sidecar restarts that count as crash-looping. */
  sidecarRestartLimit?: number;
}

const PULL_ERRORS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'RegistryUnavailable',
];

export type Verdict =
  { done: false } | { done: true; ok: true } | { done: true; ok: false; failure: PodFailure };

export interface PodFailure {
  container?: string;
  exitCode?: number;
  reason: string;
  message: string;
}

/** Decides from a pod's status whether the step is over, and how. */
export class PodJudge {
  private readonly pullErrorSince = new Map<string, number>();
  private readonly sidecars: Set<string>;
  private readonly timeoutMs: number;

  constructor(
    step: PodStep,
    private readonly options: PodJudgeOptions,
  ) {
    this.sidecars = new Set(step.sidecars.map((s) => s.name));
    this.timeoutMs = durationMs(step.timeout);
  }

  judge(pod: V1Pod, now: number): Verdict {
    const status = pod.status ?? {};
    const statuses = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
    for (const c of statuses) {
      const waiting = c.state?.waiting;
      if (waiting?.reason && PULL_ERRORS.includes(waiting.reason)) {
        const since = this.pullErrorSince.get(c.name) ?? now;
        this.pullErrorSince.set(c.name, since);
        const grace = waiting.reason === 'InvalidImageName' ? 0 : (this.options.imagePullGraceMs ?? 120_000);
        if (now - since >= grace) {
          return fail({
            container: c.name,
            reason: waiting.reason,
            message:
              `container "${c.name}" cannot pull its image ${c.image} (${waiting.reason}): ${waiting.message ?? ''}`.trim(),
          });
        }
      } else this.pullErrorSince.delete(c.name);
      if (
        this.sidecars.has(c.name) &&
        (waiting?.reason === 'CrashLoopBackOff' || c.restartCount >= (this.options.sidecarRestartLimit ?? 3))
      ) {
        const last = c.lastState?.terminated;
        return fail({
          container: c.name,
          exitCode: last?.exitCode,
          reason: 'SidecarCrashLooping',
          message: `sidecar "${c.name}" is crash-looping (${c.restartCount} restarts${last ? `, last exit code ${last.exitCode}${last.reason ? ` ${last.reason}` : ''}` : ''})`,
        });
      }
    }
    for (const c of status.initContainerStatuses ?? []) {
      const t = c.state?.terminated;
      if (t && t.exitCode !== 0 && !this.sidecars.has(c.name)) {
        return fail({
          container: c.name,
          exitCode: t.exitCode,
          reason: t.reason ?? 'Error',
          message: `init container "${c.name}" exited with code ${t.exitCode} (${t.reason ?? 'Error'})`,
        });
      }
    }
    const main = status.containerStatuses?.find((c) => c.name === MAIN_CONTAINER)?.state?.terminated;
    // The kubelet ended the pod itself (activeDeadlineSeconds, eviction): its reason says why, not the 137 its
    // kill left on the main container.
    if (status.phase === 'Failed' && status.reason) {
      return fail({
        container: main ? MAIN_CONTAINER : undefined,
        exitCode: main?.exitCode,
        reason: status.reason,
        message: `pod failed (${status.reason})${status.message ? `: ${status.message}` : ''}`,
      });
    }
    if (main) {
      if (main.exitCode === 0) return { done: true, ok: true };
      return fail({
        container: MAIN_CONTAINER,
        exitCode: main.exitCode,
        reason: main.reason ?? 'Error',
        message: `container "main" exited with code ${main.exitCode} (${main.reason ?? 'Error'})`,
      });
    }
    if (status.phase === 'Failed') {
      return fail({
        reason: status.reason ?? 'Failed',
        message: `pod failed (${status.reason ?? 'Failed'})${status.message ? `: ${status.message}` : ''}`,
      });
    }
    if (status.phase === 'Succeeded') return { done: true, ok: true };
    const unschedulable = status.conditions?.find(
      (c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
    );
    const created = pod.metadata?.creationTimestamp
      ? new Date(pod.metadata.creationTimestamp).getTime()
      : now;
    if (unschedulable && now - created >= this.timeoutMs) {
      return fail({
        reason: 'Unschedulable',
        message:
          `pod could not be scheduled for ${formatDuration(this.timeoutMs)}: ${unschedulable.message ?? ''}`.trim(),
      });
    }
    return { done: false };
  }
}

function fail(failure: PodFailure): Verdict {
  return { done: true, ok: false, failure };
}

export function containerStates(pod: V1Pod): Record<string, string> {
  const out: Record<string, string> = {};
  const all: V1ContainerStatus[] = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const c of all) {
    const s = c.state;
    out[c.name] = s?.running
      ? 'running'
      : s?.terminated
        ? `terminated(${s.terminated.exitCode})`
        : `waiting(${s?.waiting?.reason ?? ''})`;
  }
  return out;
}

/**
 * Whether nothing of the step's own work can run in the pod any more: it Succeeded or Failed, or every build
 * and main container has terminated, or one of them failed (`restartPolicy: Never`: nothing after it runs).
 * Native sidecars do not count (the kubelet stops them). A Pending pod has not ended: scheduled or pulled later,
 * it would still run its build and spark-submit.
 */
export function podEnded(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return true;
  const states = new Map(
    [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((c) => [
      c.name,
      c.state?.terminated,
    ]),
  );
  const work = [
    ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always'),
    ...(pod.spec?.containers ?? []),
  ].map((c) => states.get(c.name));
  if (work.length > 0 && work.every((t) => t !== undefined)) return true;
  return (pod.spec?.restartPolicy ?? 'Always') === 'Never' && work.some((t) => t && t.exitCode !== 0);
}

/** The pod's state in one line, for failures that end a step before the pod did (a timeout, a cancellation). */
export function describePod(pod: V1Pod): string {
  const status = pod.status ?? {};
  const parts = [`phase ${status.phase ?? 'unknown'}`];
  if (pod.metadata?.deletionTimestamp) parts.push('being deleted');
  if (status.reason || status.message)
    parts.push(`${status.reason ?? ''}${status.message ? `: ${status.message}` : ''}`);
  if (!pod.spec?.nodeName) {
    const scheduled = status.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    parts.push(
      scheduled
        ? `not scheduled (${scheduled.reason ?? 'PodScheduled False'}${scheduled.message ? `: ${scheduled.message}` : ''})`
        : 'not scheduled yet',
    );
  }
  const all = [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])];
  const containers = all.map((c) => {
    const { waiting, running, terminated } = c.state ?? {};
    const restarts = c.restartCount > 0 ? `, ${c.restartCount} restarts` : '';
    if (running) return `${c.name} running${restarts}`;
    if (terminated)
      return `${c.name} exited with code ${terminated.exitCode} (${terminated.reason ?? 'Error'})${restarts}`;
    const why = waiting?.reason ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` : '';
    return `${c.name} waiting${why}${restarts}`;
  });
  if (containers.length > 0) parts.push(`containers: ${containers.join(', ')}`);
  return parts.join('; ');
}
