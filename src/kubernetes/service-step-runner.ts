// The `service` step: a model service's Deployment and Service applied (server-side apply, deterministic names),
// then the rollout followed until the Deployment is Available with the new template, failing early and plainly
// for what will not heal (service-judge.ts). The service outlives the step: a cancelled or failed step leaves it.
import { ApplicationFailure } from '@temporalio/common';
import { formatDuration } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { StepContext } from '../ports.js';
import type { KubeClients } from './clients.js';
import { applyService, readRollout, type ServiceObjects } from './service-api.js';
import { explainRollout, ServiceJudge, type RolloutView, type ServiceJudgeOptions } from './service-judge.js';

/** How long an image pull may fail before the step fails for it, at most (the judge's default too). */
const IMAGE_PULL_GRACE_MS = 60_000;

export interface ServiceRunnerOptions extends ServiceJudgeOptions {
  /** Between reads of the rollout (the Deployment, its ReplicaSets and pods): default 2 s. */
  pollMs?: number;
}

/** Where the service answers, and which one it is. */
export interface ServiceStepResult {
  url: string;
  host: string;
  port: number;
  name: string;
  namespace: string;
  revision: number;
}

/** What a step's heartbeat says while its rollout goes on. */
export interface ServiceHeartbeat {
  deployment: string;
  namespace: string;
  state: string;
}

export class ServiceStepRunner {
  constructor(
    private readonly kube: () => KubeClients,
    private readonly options: ServiceRunnerOptions = {},
  ) {}

  /**
   * Applies the objects and waits until the Deployment is Available with them. A retried activity (its worker
   * killed mid-rollout) or a concurrent one applies the same names again and waits: never a second object.
   * Fails with StepFailed (the judge's reason: image not pulled, crash loop, progress deadline, pods not
   * creatable, the Deployment deleted meanwhile) or, past `timeoutMs`, StepTimedOut with where the rollout is
   * (readiness not passing for how long, pods not scheduled and why). Aborted through `ctx.signal` it stops
   * waiting and rejects with where the rollout was; the objects stay.
   */
  async run(
    objects: ServiceObjects,
    ctx: StepContext,
    limits: { timeoutMs?: number } = {},
  ): Promise<ServiceStepResult> {
    const kube = this.kube();
    const { namespace, name } = objects;
    const previous = ctx.previousDetails as Partial<ServiceHeartbeat> | undefined;
    if (previous?.deployment)
      ctx.log(`resuming the rollout of ${namespace}/${name} (last seen: ${previous.state})`);
    const started = Date.now();
    const applied = await applyService(kube, objects);
    ctx.log(
      `applied Deployment and Service ${namespace}/${name} (revision ${ctx.revision}, generation ` +
        `${applied.deployment.metadata?.generation ?? '?'})`,
    );
    // An image that cannot be pulled is given a grace (a registry hiccup heals), but never most of the step's
    // time: with a short timeout the failure must still say "image pull", not "timed out".
    const pullGraceMs = Math.min(
      this.options.imagePullGraceMs ?? IMAGE_PULL_GRACE_MS,
      limits.timeoutMs !== undefined ? limits.timeoutMs / 2 : Infinity,
    );
    const judge = new ServiceJudge({ ...this.options, imagePullGraceMs: pullGraceMs });
    let last: RolloutView | undefined;
    let state = 'applied';
    let problem: string | undefined;
    const beat = () => ctx.heartbeat({ deployment: name, namespace, state } satisfies ServiceHeartbeat);
    beat();
    for (;;) {
      if (ctx.signal.aborted) throw stopped(ctx, state);
      try {
        last = await readRollout(kube, namespace, name, objects.selector);
        problem = undefined;
      } catch (err) {
        if (err instanceof ApplicationFailure) throw err; // refused (403): no retry helps
        // The API server may be restarting: the rollout goes on without us; keep asking within the bound.
        if (problem === undefined)
          ctx.log(`reading the rollout of ${namespace}/${name} failed: ${(err as Error).message}`);
        problem = (err as Error).message;
      }
      if (!problem) {
        if (!last) throw deleted(namespace, name, state);
        const now = Date.now();
        const verdict = judge.judge(last, now);
        if (verdict.kind === 'available') {
          ctx.log(`Deployment ${namespace}/${name} is available (${formatDuration(now - started)})`);
          return {
            url: objects.url,
            host: objects.host,
            port: objects.port,
            name,
            namespace,
            revision: ctx.revision,
          };
        }
        if (verdict.kind === 'failed') {
          throw ApplicationFailure.create({
            type: FailureType.StepFailed,
            nonRetryable: true,
            message: verdict.reason,
            details: [{ deployment: name, namespace, reason: verdict.code }],
          });
        }
        if (verdict.detail !== state) ctx.log(verdict.detail);
        state = verdict.detail;
      }
      beat();
      const elapsed = Date.now() - started;
      if (limits.timeoutMs !== undefined && elapsed >= limits.timeoutMs) {
        const where = last ? explainRollout(last, Date.now()) : state;
        throw ApplicationFailure.create({
          type: FailureType.StepTimedOut,
          nonRetryable: true,
          message:
            `not available after ${formatDuration(limits.timeoutMs)}: ${where}` +
            (problem ? `; last read failed: ${problem}` : ''),
          details: [{ deployment: name, namespace, reason: 'NotAvailable' }],
        });
      }
      const pause = Math.min(this.options.pollMs ?? 2_000, (limits.timeoutMs ?? Infinity) - elapsed);
      await abortableSleep(Math.max(pause, 0), ctx.signal);
    }
  }
}

function stopped(ctx: StepContext, state: string): Error {
  const reason: unknown = ctx.signal.reason;
  const own = reason instanceof Error && reason.name !== 'AbortError' ? `${reason.message}; ` : '';
  return new Error(`${own}stopped waiting for the rollout, the service stays: ${state}`);
}

function deleted(namespace: string, name: string, state: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.StepFailed,
    nonRetryable: true,
    // Whoever deleted it meant it gone: the restart policy decides whether the steps run (and apply) again.
    message: `Deployment ${namespace}/${name} was deleted by someone else during its rollout (last seen: ${state})`,
    details: [{ deployment: name, namespace, reason: 'DeploymentDeleted' }],
  });
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
