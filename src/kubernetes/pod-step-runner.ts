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
import { containerStates, PodJudge, type PodJudgeOptions, type Verdict } from './pod-judge.js';
import { LogFollower } from './pod-logs.js';
import { buildPodManifest, MAIN_CONTAINER, PodAnnotation, type PodDefaults } from './pod-manifest.js';

export interface PodRunnerOptions extends PodJudgeOptions {
  defaults: PodDefaults;
  /** How often deadlines are checked when no event arrives. */
  tickMs?: number;
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
        message: `pod ${namespace}/${name}: ${failure.message}${outputEnding('log ends', tail)}`,
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
