// The service judgement: from a Deployment, its ReplicaSets and its pods, whether a model service's rollout is
// done, still going, or will not get anywhere. Pure: no I/O, time passed in, so it is unit-testable on objects as
// the deployment controller, the scheduler and the kubelet write them.
import type {
  V1ContainerStatus,
  V1Deployment,
  V1DeploymentCondition,
  V1Pod,
  V1ReplicaSet,
} from '@kubernetes/client-node';
import { formatDuration } from '../common/duration.js';

/** The annotation the deployment controller puts on a Deployment and on each of its ReplicaSets. */
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

/** What the judge looks at: one Deployment, its ReplicaSets (optional) and the pods its selector matches. */
export interface RolloutView {
  deployment: V1Deployment;
  /** The Deployment's ReplicaSets; with them only the pods of the current one are judged. */
  replicaSets?: V1ReplicaSet[];
  /** Pods of the Deployment (its selector); the current ReplicaSet's are picked out when `replicaSets` is given. */
  pods: V1Pod[];
}

export interface ServiceJudgeOptions {
  /** How long an image pull error may last before the rollout fails (a registry hiccup heals itself). */
  imagePullGraceMs?: number;
  /** Restarts after which a container in CrashLoopBackOff fails the rollout. */
  crashLoopRestarts?: number;
}

/** Why a rollout failed, for `details` and for code that matches on it. */
export const ServiceFailure = {
  ImagePull: 'ImagePull',
  CrashLoop: 'CrashLoopBackOff',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  ReplicaFailure: 'ReplicaFailure',
  Deleting: 'Deleting',
} as const;
export type ServiceFailure = (typeof ServiceFailure)[keyof typeof ServiceFailure];

export type ServiceVerdict =
  | { kind: 'available' }
  | { kind: 'progressing'; detail: string }
  | { kind: 'failed'; code: ServiceFailure; reason: string };

const PULL_ERRORS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'RegistryUnavailable',
  // A missing ConfigMap/Secret key: the container is never created, whatever the retries.
  'CreateContainerConfigError',
];
/** Pull errors no retry can fix: no grace. */
const FINAL_PULL_ERRORS = ['InvalidImageName', 'ErrImageNeverPull'];

/** Decides from the objects whether a rollout is done; remembers since when pull errors have lasted. */
export class ServiceJudge {
  private readonly since = new Map<string, number>();

  constructor(private readonly options: ServiceJudgeOptions = {}) {}

  judge(view: RolloutView, now: number): ServiceVerdict {
    const d = view.deployment;
    const name = deploymentName(d);
    if (d.metadata?.deletionTimestamp) {
      return failed(ServiceFailure.Deleting, `${name} is being deleted`);
    }
    if (isAvailable(d)) return { kind: 'available' };
    // Before the controller has seen the new spec its pods are the previous template's: nothing to judge by.
    if (!observed(d)) return { kind: 'progressing', detail: explainRollout(view, now) };
    const stalled = condition(d, 'Progressing');
    if (stalled?.status === 'False' && stalled.reason === 'ProgressDeadlineExceeded') {
      return failed(
        ServiceFailure.ProgressDeadlineExceeded,
        `${name} exceeded its progress deadline (${d.spec?.progressDeadlineSeconds ?? 600}s): ${explainRollout(view, now, false)}`,
      );
    }
    const seen = new Set<string>();
    const replicaFailure = condition(d, 'ReplicaFailure');
    if (replicaFailure?.status === 'True' && this.lasted('replica-failure', now, seen)) {
      return failed(
        ServiceFailure.ReplicaFailure,
        `${name}: its pods cannot be created (${replicaFailure.reason ?? 'ReplicaFailure'}): ${replicaFailure.message ?? ''}`.trim(),
      );
    }
    for (const pod of currentPods(view)) {
      for (const c of statuses(pod)) {
        const waiting = c.state?.waiting;
        if (waiting?.reason && PULL_ERRORS.includes(waiting.reason)) {
          const key = `${pod.metadata?.uid ?? pod.metadata?.name}/${c.name}`;
          const final = FINAL_PULL_ERRORS.includes(waiting.reason);
          if (final || this.lasted(key, now, seen)) {
            return failed(
              ServiceFailure.ImagePull,
              `${name}: pod ${pod.metadata?.name}: container "${c.name}" cannot start: image ${c.image} ` +
                `(${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})`,
            );
          }
        }
        if (
          waiting?.reason === 'CrashLoopBackOff' &&
          c.restartCount >= (this.options.crashLoopRestarts ?? 2)
        ) {
          return failed(
            ServiceFailure.CrashLoop,
            `${name}: pod ${pod.metadata?.name}: container "${c.name}" is crash-looping (${crashStory(c)})`,
          );
        }
      }
    }
    for (const key of this.since.keys()) if (!seen.has(key)) this.since.delete(key);
    return { kind: 'progressing', detail: explainRollout(view, now) };
  }

  /** Whether the problem under `key` has lasted the pull grace, counted from the first time it was seen. */
  private lasted(key: string, now: number, seen: Set<string>): boolean {
    seen.add(key);
    const since = this.since.get(key) ?? now;
    this.since.set(key, since);
    return now - since >= (this.options.imagePullGraceMs ?? 60_000);
  }
}

function failed(code: ServiceFailure, reason: string): ServiceVerdict {
  return { kind: 'failed', code, reason };
}

/**
 * Whether the Deployment runs its current spec, fully: the controller has seen the latest generation, every
 * replica is of the new template and available, no old replica is left, and the controller says Available.
 */
export function isAvailable(d: V1Deployment): boolean {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    observed(d) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.availableReplicas ?? 0) >= want &&
    (s.replicas ?? 0) <= want &&
    (s.unavailableReplicas ?? 0) === 0 &&
    condition(d, 'Available')?.status === 'True'
  );
}

function observed(d: V1Deployment): boolean {
  return (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1);
}

function condition(d: V1Deployment, type: string): V1DeploymentCondition | undefined {
  return d.status?.conditions?.find((c) => c.type === type);
}

/** `Deployment NS/NAME`, as every reason starts. */
export function deploymentName(d: V1Deployment): string {
  return `Deployment ${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
}

/** The ReplicaSet of the Deployment's current revision (the controller writes it on both). */
export function currentReplicaSet(d: V1Deployment, replicaSets: V1ReplicaSet[]): V1ReplicaSet | undefined {
  const revision = d.metadata?.annotations?.[REVISION_ANNOTATION];
  if (!revision) return undefined;
  const uid = d.metadata?.uid;
  return replicaSets.find(
    (rs) =>
      rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision &&
      (!uid || (rs.metadata?.ownerReferences ?? []).some((o) => o.uid === uid)),
  );
}

/** The pods of the current ReplicaSet that are not terminating (all given pods when no ReplicaSets are). */
export function currentPods(view: RolloutView): V1Pod[] {
  const live = view.pods.filter((p) => !p.metadata?.deletionTimestamp);
  if (!view.replicaSets) return live;
  const rs = currentReplicaSet(view.deployment, view.replicaSets);
  if (!rs) return [];
  const uid = rs.metadata?.uid;
  const hash = rs.metadata?.labels?.['pod-template-hash'];
  return live.filter((p) =>
    uid
      ? (p.metadata?.ownerReferences ?? []).some((o) => o.uid === uid)
      : hash !== undefined && p.metadata?.labels?.['pod-template-hash'] === hash,
  );
}

function statuses(pod: V1Pod): V1ContainerStatus[] {
  return [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
}

function crashStory(c: V1ContainerStatus): string {
  const last = c.lastState?.terminated;
  const parts = [];
  if (last) parts.push(`exit code ${last.exitCode}`, `last termination ${last.reason ?? 'Error'}`);
  parts.push(`${c.restartCount} restarts`);
  const said = last?.message?.trim();
  return `${parts.join(', ')}${said ? `: ${said.slice(-300)}` : ''}`;
}

function ms(at: Date | string | undefined): number | undefined {
  if (at === undefined) return undefined;
  const t = new Date(at).getTime();
  return Number.isNaN(t) ? undefined : t;
}

/**
 * Where a rollout is, in one line that names the Deployment and says what its pods say: pods not scheduled
 * (the scheduler's message), containers waiting and why, readiness not passing and for how long, old pods left.
 * `named` false leaves out the `Deployment NS/NAME:` prefix.
 */
export function explainRollout(view: RolloutView, now: number, named = true): string {
  const d = view.deployment;
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  const prefix = named ? `${deploymentName(d)}: ` : '';
  if (!observed(d)) {
    return `${prefix}the deployment controller has not seen generation ${d.metadata?.generation ?? 1} yet (observed ${s.observedGeneration ?? 'none'})`;
  }
  const pods = currentPods(view);
  const ready = pods.filter(podReady).length;
  const counts = `(${ready}/${want} pods ready)`;
  const parts: string[] = [];
  const unscheduled = pods.filter((p) => !p.spec?.nodeName);
  if (unscheduled.length > 0) {
    const why = unscheduled
      .map((p) => p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'))
      .find((c) => c?.message);
    parts.push(
      `${pods.length - unscheduled.length}/${pods.length} pods scheduled` +
        (why ? `: ${why.message}` : ': not scheduled yet'),
    );
  }
  const waiting = new Map<string, number>();
  const unready = new Map<string, number>();
  for (const pod of pods) {
    for (const c of statuses(pod)) {
      const w = c.state?.waiting;
      if (w?.reason && w.reason !== 'PodInitializing' && w.reason !== 'ContainerCreating') {
        const restarts = c.restartCount > 0 ? `, ${c.restartCount} restarts` : '';
        const key = `container ${c.name} waiting (${w.reason}${w.message ? `: ${w.message}` : ''}${restarts})`;
        waiting.set(key, (waiting.get(key) ?? 0) + 1);
      } else if (c.state?.running && !c.ready) {
        const since = ms(c.state.running.startedAt) ?? now;
        unready.set(c.name, Math.min(unready.get(c.name) ?? since, since));
      }
    }
  }
  for (const [what, count] of waiting) parts.push(count > 1 ? `${what} in ${count} pods` : what);
  for (const [container, since] of unready) {
    parts.push(
      `readiness probe not passing: container ${container} running, not ready for ${formatDuration(Math.max(0, Math.floor((now - since) / 1000) * 1000))}`,
    );
  }
  const failure = condition(d, 'ReplicaFailure');
  if (failure?.status === 'True') parts.push(`pods cannot be created: ${failure.message ?? failure.reason}`);
  if (pods.length < want && unscheduled.length === 0 && failure?.status !== 'True') {
    parts.push(`${pods.length}/${want} pods created`);
  }
  const old = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  if (parts.length === 0 && old > 0) parts.push(`${old} old pods left to stop`);
  if (parts.length === 0 && ready >= want)
    parts.push(`pods ready, not yet counted available by the controller`);
  if (parts.length === 0) parts.push('waiting for its pods');
  return `${prefix}${parts.join('; ')} ${counts}`;
}

function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
