// The `pod` step: one pod per attempt (deterministic name, adopted on retry), watched until the main container
// exits, its build and main logs followed into the worker log, and failures reported early and plainly.
import { Writable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/common';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { durationMs, formatDuration } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { PodStep } from '../config/app-config.js';
import type { StepContext, StepRunner } from '../ports.js';
import type { KubeClients } from './clients.js';
import { buildPodManifest, MAIN_CONTAINER, PodAnnotation, type PodDefaults } from './pod-manifest.js';
import { parseSparkSubmitAppId } from '../yarn/parse.js';
import { OUTPUT_TAIL_CHARS } from '../ssh/ssh-step-runner.js';

export interface PodRunnerOptions {
  defaults: PodDefaults;
  /** How long ErrImagePull/ImagePullBackOff may last before the step fails (a registry hiccup heals itself). */
  imagePullGraceMs?: number;
  /** Sidecar restarts that count as crash-looping. */
  sidecarRestartLimit?: number;
  /** How often deadlines are checked when no event arrives. */
  tickMs?: number;
}

const PULL_ERRORS = [
  'ErrImagePull',
  'ImagePullBackOff',
  'ErrImageNeverPull',
  'InvalidImageName',
  'RegistryUnavailable',
];

type Verdict = { done: false } | { done: true; ok: true } | { done: true; ok: false; failure: PodFailure };

interface PodFailure {
  container?: string;
  exitCode?: number;
  reason: string;
  message: string;
}

export class PodStepRunner implements StepRunner<PodStep> {
  constructor(
    private readonly kube: () => KubeClients,
    private readonly options: PodRunnerOptions,
  ) {}

  async run(step: PodStep, ctx: StepContext) {
    const kube = this.kube();
    const manifest = buildPodManifest(
      step,
      {
        app: ctx.app,
        step: ctx.stepName,
        attempt: ctx.attempt,
        revision: ctx.revision,
        workflowId: ctx.workflowId,
        runId: ctx.runId,
      },
      this.options.defaults,
    );
    // After a worker crash the retried activity reattaches to the pod its last heartbeat named.
    const previous = ctx.previousDetails as { pod?: string; namespace?: string } | undefined;
    if (previous?.pod && previous.namespace) {
      manifest.metadata!.name = previous.pod;
      manifest.metadata!.namespace = previous.namespace;
      ctx.log(`reattaching to pod ${previous.namespace}/${previous.pod} from the last heartbeat`);
    }
    const name = manifest.metadata!.name!;
    const namespace = manifest.metadata!.namespace!;
    const logs = new LogFollower(kube, namespace, name, ctx);
    let outcome: 'succeeded' | 'failed' | 'cancelled' = 'failed';
    try {
      await this.ensurePod(kube, manifest, ctx);
      ctx.heartbeat({ pod: name, namespace });
      const verdict = await this.watch(kube, namespace, name, step, ctx, logs);
      await logs.finish();
      if (verdict.ok) {
        outcome = 'succeeded';
        const mainLog = logs.text(MAIN_CONTAINER);
        const yarnAppId = parseSparkSubmitAppId(mainLog);
        return yarnAppId ? { yarnAppId, outputTail: logs.tail() } : { outputTail: logs.tail() };
      }
      const { failure } = verdict;
      const tail = logs.tail(failure.container);
      throw ApplicationFailure.create({
        type: FailureType.StepFailed,
        nonRetryable: true,
        message: `pod ${namespace}/${name}: ${failure.message}${tail ? `; log ends:\n${tail.trimEnd().split('\n').slice(-10).join('\n')}` : ''}`,
        details: [
          {
            pod: name,
            namespace,
            container: failure.container,
            exitCode: failure.exitCode,
            reason: failure.reason,
            logTail: tail,
          },
        ],
      });
    } catch (err) {
      if (ctx.signal.aborted) outcome = 'cancelled';
      throw err;
    } finally {
      logs.stop();
      // Runs to the end even when the activity was cancelled: a cancelled step never leaves its pod behind.
      const keep =
        outcome !== 'cancelled' &&
        (step.keepPod === 'always' || (step.keepPod === 'onFailure' && outcome === 'failed'));
      if (!keep) await deletePod(kube, namespace, name, ctx);
      else ctx.log(`keeping pod ${namespace}/${name} (keepPod: ${step.keepPod})`);
    }
  }

  /** Creates the attempt's pod, or adopts the one a previous try of this activity created. */
  private async ensurePod(kube: KubeClients, manifest: V1Pod, ctx: StepContext): Promise<void> {
    const name = manifest.metadata!.name!;
    const namespace = manifest.metadata!.namespace!;
    const existing = await readPod(kube, namespace, name);
    if (!existing) {
      try {
        await kube.core.createNamespacedPod({ namespace, body: manifest });
        ctx.log(`created pod ${namespace}/${name}`);
        return;
      } catch (err) {
        if (statusCode(err) !== 409) throw kubeError(err, `create pod ${namespace}/${name}`);
      }
    }
    const pod = existing ?? (await readPod(kube, namespace, name));
    if (!pod) throw new Error(`pod ${namespace}/${name} vanished while being adopted`);
    const owner = pod.metadata?.annotations?.[PodAnnotation.runId];
    if (owner !== ctx.runId) {
      throw ApplicationFailure.create({
        type: FailureType.StepFailed,
        nonRetryable: true,
        message: `pod ${namespace}/${name} exists but belongs to workflow run ${owner ?? '(none)'}, not ${ctx.runId}; delete it if it is stale`,
      });
    }
    ctx.log(`adopted pod ${namespace}/${name} (phase ${pod.status?.phase ?? 'unknown'})`);
  }

  private watch(
    kube: KubeClients,
    namespace: string,
    name: string,
    step: PodStep,
    ctx: StepContext,
    logs: LogFollower,
  ): Promise<Extract<Verdict, { done: true }>> {
    const judge = new PodJudge(step, this.options);
    return new Promise((resolve, reject) => {
      let finished = false;
      let watchAbort: AbortController | undefined;
      let lastPod: V1Pod | undefined;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        ctx.signal.removeEventListener('abort', onAbort);
        watchAbort?.abort();
        fn();
      };
      const see = (pod: V1Pod) => {
        lastPod = pod;
        ctx.heartbeat({ pod: name, namespace, phase: pod.status?.phase, containers: containerStates(pod) });
        logs.sync(pod);
        const verdict = judge.judge(pod, Date.now());
        if (verdict.done) finish(() => resolve(verdict));
      };
      const onAbort = () =>
        finish(() => reject(ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('cancelled')));
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const tick = setInterval(() => lastPod && see(lastPod), this.options.tickMs ?? 1_000);

      // List (for a resourceVersion), then watch from it; a broken watch or 410 Gone means list again.
      const loop = async () => {
        while (!finished) {
          try {
            const list = await kube.core.listNamespacedPod({
              namespace,
              fieldSelector: `metadata.name=${name}`,
            });
            const pod = list.items[0];
            if (!pod)
              return finish(() => reject(new Error(`pod ${namespace}/${name} was deleted by someone else`)));
            see(pod);
            if (finished) return;
            await new Promise<void>((done) => {
              kube
                .watch(
                  `/api/v1/namespaces/${namespace}/pods`,
                  {
                    fieldSelector: `metadata.name=${name}`,
                    resourceVersion: list.metadata?.resourceVersion ?? '0',
                    allowWatchBookmarks: true,
                  },
                  (type, obj) => {
                    if (type === 'ERROR') return done(); // 410 Expired: re-list
                    if (type === 'DELETED')
                      return finish(() =>
                        reject(new Error(`pod ${namespace}/${name} was deleted by someone else`)),
                      );
                    if (type === 'ADDED' || type === 'MODIFIED') see(obj as V1Pod);
                  },
                  () => done(),
                )
                .then(
                  (abort) => {
                    watchAbort = abort;
                    if (finished) abort.abort();
                  },
                  () => done(),
                );
            });
            if (!finished) ctx.log(`watch on pod ${namespace}/${name} ended; listing again`);
          } catch (err) {
            if (finished) return;
            ctx.log(`kubernetes API error (retrying): ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 1_000));
          }
        }
      };
      void loop();
    });
  }
}

/** Decides from a pod's status whether the step is over, and how. */
export class PodJudge {
  private readonly pullErrorSince = new Map<string, number>();
  private readonly sidecars: Set<string>;
  private readonly timeoutMs: number;

  constructor(
    step: PodStep,
    private readonly options: Pick<PodRunnerOptions, 'imagePullGraceMs' | 'sidecarRestartLimit'>,
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

function containerStates(pod: V1Pod): Record<string, string> {
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

/** Follows the build (init) and main containers' logs as they start, into the worker log and a bounded tail. */
class LogFollower {
  private readonly streams = new Map<
    string,
    { text: string; ended: Promise<void>; abort?: AbortController }
  >();
  private combined = '';

  constructor(
    private readonly kube: KubeClients,
    private readonly namespace: string,
    private readonly pod: string,
    private readonly ctx: StepContext,
  ) {}

  sync(pod: V1Pod): void {
    const sidecars = new Set(
      (pod.spec?.initContainers ?? [])
        .filter((c) => (c as { restartPolicy?: string }).restartPolicy === 'Always')
        .map((c) => c.name),
    );
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const c of statuses) {
      if (sidecars.has(c.name) || this.streams.has(c.name) || !(c.state?.running || c.state?.terminated))
        continue;
      this.follow(c.name);
    }
  }

  private follow(container: string): void {
    let partial = '';
    const entry: { text: string; ended: Promise<void>; abort?: AbortController } = {
      text: '',
      ended: Promise.resolve(),
    };
    const out = new Writable({
      write: (chunk: Buffer, _enc, callback) => {
        const text = chunk.toString('utf8');
        entry.text = (entry.text + text).slice(-OUTPUT_TAIL_CHARS * 4);
        this.combined = (this.combined + text).slice(-OUTPUT_TAIL_CHARS);
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) this.ctx.log(line, { container, pod: this.pod });
        callback();
      },
    });
    entry.ended = new Promise((resolve) => {
      out.on('finish', () => resolve());
      out.on('close', () => resolve());
      out.on('error', () => resolve());
    });
    this.streams.set(container, entry);
    this.kube.log(this.namespace, this.pod, container, out).then(
      (abort) => (entry.abort = abort),
      (err: unknown) => {
        this.ctx.log(`cannot follow the log of ${container}: ${(err as Error).message}`);
        out.end();
      },
    );
  }

  /** Waits briefly for the streams of finished containers to drain. */
  async finish(): Promise<void> {
    await Promise.race([
      Promise.all([...this.streams.values()].map((s) => s.ended)),
      new Promise((r) => setTimeout(r, 2_000)),
    ]);
  }

  stop(): void {
    for (const s of this.streams.values()) s.abort?.abort();
  }

  text(container: string): string {
    return this.streams.get(container)?.text ?? '';
  }

  tail(container?: string): string {
    return (container ? this.text(container) : this.combined).slice(-OUTPUT_TAIL_CHARS);
  }
}

async function readPod(kube: KubeClients, namespace: string, name: string): Promise<V1Pod | undefined> {
  try {
    return await kube.core.readNamespacedPod({ namespace, name });
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw kubeError(err, `read pod ${namespace}/${name}`);
  }
}

async function deletePod(
  kube: KubeClients,
  namespace: string,
  name: string,
  ctx: StepContext,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kube.core.deleteNamespacedPod({ namespace, name });
      ctx.log(`deleted pod ${namespace}/${name}`);
      return;
    } catch (err) {
      if (statusCode(err) === 404) return;
      if (attempt >= 5) throw kubeError(err, `delete pod ${namespace}/${name}`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message (from its Status body) rather than the client's generic one. */
function kubeError(err: unknown, what: string): Error {
  const body = (err as { body?: unknown }).body;
  let message = (err as Error).message;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string } | undefined;
    if (parsed?.message) message = parsed.message;
  } catch {
    // keep the client's message
  }
  return new Error(`${what}: ${message}`);
}
