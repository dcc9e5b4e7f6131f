// The `pod` step: one pod per attempt (deterministic name, adopted on retry), watched until the main container
// exits, its build and main logs followed into the worker log, and failures reported early and plainly.
import { ApplicationFailure } from '@temporalio/common';
import type { V1Pod } from '@kubernetes/client-node';
import { FailureType } from '../common/failures.js';
import { outputEnding } from '../common/output.js';
import type { PodStep } from '../config/app-config.js';
import type { StepContext, StepRunner } from '../ports.js';
import { parseSparkSubmitAppId } from '../yarn/parse.js';
import type { KubeClients } from './clients.js';
import { deletePod, kubeError, readPod, statusCode } from './pod-api.js';
import {
  containerStates,
  describePod,
  PodJudge,
  podEnded,
  type PodJudgeOptions,
  type Verdict,
} from './pod-judge.js';
import { LogFollower } from './pod-logs.js';
import { buildPodManifest, MAIN_CONTAINER, PodAnnotation, type PodDefaults } from './pod-manifest.js';
import { PodWatch, type PodWatchOptions } from './pod-watch.js';

export interface PodRunnerOptions extends PodJudgeOptions, PodWatchOptions {
  defaults: PodDefaults;
  /** How often deadlines are checked when no event arrives. */
  tickMs?: number;
  /** How long a deleted pod may stay Terminating before the step stops waiting (default: grace period + 30 s). */
  deleteWaitMs?: number;
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
    const seen: { pod?: V1Pod } = {};
    let outcome: 'succeeded' | 'failed' | 'cancelled' = 'failed';
    let created = false;
    try {
      await this.ensurePod(kube, manifest, ctx);
      created = true;
      ctx.heartbeat({ pod: name, namespace });
      const verdict = await this.watch(kube, namespace, name, step, ctx, logs, seen);
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
        message: `pod ${namespace}/${name}: ${failure.message}${outputEnding('log ends', tail, failure.container ? logs.text(failure.container) : tail)}`,
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
      if (created && outcome === 'cancelled' && ctx.handingOver()) {
        // A stopping worker: the step is not over, so the pod stays for the next worker to reattach to. Deleting
        // it would kill a build or spark-submit the retry then runs again.
        ctx.log(`worker shutting down: leaving pod ${namespace}/${name} for the next worker to reattach to`);
      } else if (created) {
        // Runs to the end even when the activity was cancelled: a cancelled step never leaves its pod behind.
        await this.cleanUp(kube, namespace, name, step, outcome, ctx, seen.pod);
      }
    }
  }

  /**
   * Deletes the pod unless keepPod keeps it. Only a pod that has ended is kept: a Pending one (unschedulable, its
   * image not pulled) would run its build and spark-submit once scheduled, with nobody supervising it.
   */
  private async cleanUp(
    kube: KubeClients,
    namespace: string,
    name: string,
    step: PodStep,
    outcome: 'succeeded' | 'failed' | 'cancelled',
    ctx: StepContext,
    lastSeen: V1Pod | undefined,
  ): Promise<void> {
    let keep =
      outcome !== 'cancelled' &&
      (step.keepPod === 'always' || (step.keepPod === 'onFailure' && outcome === 'failed'));
    if (keep) {
      const pod = await readPod(kube, namespace, name).catch(() => lastSeen);
      if (!pod) return;
      if (!podEnded(pod)) {
        keep = false;
        ctx.log(
          `not keeping pod ${namespace}/${name} (keepPod: ${step.keepPod}): it has not ended (${describePod(pod)}), ` +
            'and it would run its build and main container later with nobody supervising it; deleting it',
        );
      }
    }
    if (keep) ctx.log(`keeping pod ${namespace}/${name} (keepPod: ${step.keepPod})`);
    else await deletePod(kube, namespace, name, ctx, this.options.deleteWaitMs);
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

  /** Follows the pod (pod-watch.ts) until the judge has a verdict, the pod is deleted, or the step is aborted. */
  private watch(
    kube: KubeClients,
    namespace: string,
    name: string,
    step: PodStep,
    ctx: StepContext,
    logs: LogFollower,
    seen: { pod?: V1Pod },
  ): Promise<Extract<Verdict, { done: true }>> {
    const judge = new PodJudge(step, this.options);
    const state = () =>
      `pod ${namespace}/${name}: ${seen.pod ? describePod(seen.pod) : 'no status seen yet'}`;
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        clearInterval(tick);
        ctx.signal.removeEventListener('abort', onAbort);
        podWatch.stop();
        fn();
      };
      const deleted = (how: string) =>
        finish(() =>
          reject(
            ApplicationFailure.create({
              type: FailureType.StepFailed,
              nonRetryable: true,
              // A retry would create the pod again: whoever deleted it meant the step to stop.
              message: `pod ${namespace}/${name} ${how} by someone else while the step ran; the step fails rather than create it again (last seen: ${seen.pod ? describePod(seen.pod) : 'never'})`,
              details: [{ pod: name, namespace, reason: 'PodDeleted' }],
            }),
          ),
        );
      const see = (pod: V1Pod) => {
        seen.pod = pod;
        ctx.heartbeat({ pod: name, namespace, phase: pod.status?.phase, containers: containerStates(pod) });
        logs.sync(pod);
        if (pod.metadata?.deletionTimestamp) return deleted('is being deleted');
        const verdict = judge.judge(pod, Date.now());
        if (verdict.done) finish(() => resolve(verdict));
      };
      // A timeout or a cancellation: the failure says where the pod was (unscheduled and why, image not pulled).
      const onAbort = () =>
        finish(() => {
          const reason: unknown = ctx.signal.reason;
          const own = reason instanceof Error && reason.name !== 'AbortError' ? `${reason.message}; ` : '';
          reject(new Error(`${own}${state()}`));
        });
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const tick = setInterval(() => seen.pod && see(seen.pod), this.options.tickMs ?? 1_000);
      const podWatch = new PodWatch(
        kube,
        namespace,
        name,
        ctx,
        {
          pod: (pod) => !finished && see(pod),
          gone: () => !finished && deleted('was deleted'),
          fatal: (err) => finish(() => reject(err)),
        },
        this.options,
      );
      if (ctx.signal.aborted) onAbort();
      else podWatch.start();
    });
  }
}
