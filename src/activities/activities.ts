// The activities, built by a factory from their ports (`../ports.ts`): tests hand in doubles, the worker real adapters.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/failures.js';
import { formatDuration, durationMs } from '../common/duration.js';
import type { KappaDeps, LiveSnapshot, StepContext } from '../ports.js';
import { appById, appsNamed } from '../yarn/app-index.js';
import { isLive, YarnUnavailableError, type YarnAppReport } from '../yarn/model.js';
import { supervisionMetrics } from './app-metrics.js';
import { orCancelled } from './cancellation.js';
import { acceptedChange, quietPoll } from './supervision-poll.js';
import { serviceActivities, ServiceWatch, withServiceRefs } from './service-activities.js';
import { configActivities } from './config-activities.js';
import type {
  AwaitAppInput,
  KillAppInput,
  KillAppResult,
  RunStepInput,
  RunStepResult,
  SuperviseInput,
  SupervisionOutcome,
  AppRef,
} from './types.js';

/** Failed polls in a row before supervision reports the edge node unreachable. */
const FAILED_POLLS_BEFORE_DEGRADED = 2;
const KILL_CONFIRM_TIMEOUT_MS = 60_000;

export function createActivities(deps: KappaDeps) {
  const heartbeatEveryMs = deps.heartbeatIntervalMs ?? 1_000;

  /**
   * Heartbeats on a timer so cancellation arrives even while a runner waits on I/O. The first one comes after
   * `everyMs` unless `now`: most steps and waits end sooner, and a deploy of 1000 apps need not send the server
   * 2000 heartbeats nobody reads.
   */
  function keepHeartbeating(details: () => unknown, everyMs = heartbeatEveryMs, now = false): () => void {
    const ctx = Context.current();
    if (now) ctx.heartbeat(details());
    const timer = setInterval(() => ctx.heartbeat(details()), everyMs);
    return () => clearInterval(timer);
  }

  function sleepOrCancel(ms: number): Promise<void> {
    return Context.current().sleep(ms);
  }

  function logFields(ref: AppRef, extra: Record<string, unknown> = {}) {
    const info = Context.current().info;
    return { app: ref.app, workflowId: info.workflowExecution?.workflowId, attempt: info.attempt, ...extra };
  }

  async function findLiveApps(ref: AppRef): Promise<YarnAppReport[]> {
    const live = await deps.yarn.listLive(ref.host);
    return live.filter((app) => app.name === ref.appName);
  }

  /** Asks YARN to kill each of `ids`, then waits until none of them is live. */
  async function killAndConfirm(ref: AppRef, ids: ReadonlySet<string>): Promise<void> {
    const ctx = Context.current();
    for (const id of ids) {
      ctx.log.info('killing YARN application', logFields(ref, { appId: id }));
      await deps.yarn.kill(ref.host, id);
    }
    const started = Date.now();
    for (;;) {
      const stillLive = (await deps.yarn.listLive(ref.host)).filter((app) => ids.has(app.id));
      if (stillLive.length === 0) return;
      if (Date.now() - started > KILL_CONFIRM_TIMEOUT_MS) {
        // Retryable: the next attempt kills again.
        throw new Error(`still live after kill: ${stillLive.map((a) => `${a.id} (${a.state})`).join(', ')}`);
      }
      await sleepOrCancel(1_000);
    }
  }

  /**
   * Before a step runs again after a lost try (a dead worker, a dropped connection), what that try may have
   * submitted is looked for, and adopted or killed by `onExisting`: a retry never submits blindly. A pod step
   * that can reattach to its pod needs none of this: the pod submits once.
   */
  async function resolveLostTry(
    input: RunStepInput,
    canReattach: boolean,
  ): Promise<RunStepResult | undefined> {
    const ctx = Context.current();
    if (ctx.info.attempt <= 1 || canReattach) return undefined;
    const known = new Set(input.knownAppIds ?? []);
    const found = (await findLiveApps(input)).filter((app) => !known.has(app.id));
    if (found.length === 0) return undefined;
    const onExisting = input.onExisting ?? 'adopt';
    const ids = found.map((app) => app.id);
    ctx.log.warn('a lost try of this step left the app live', logFields(input, { ids, onExisting }));
    if (onExisting === 'fail') {
      throw ApplicationFailure.create({
        type: FailureType.ExistingInstance,
        nonRetryable: true,
        message: `step "${input.step.name}" was retried and found "${input.appName}" live on ${input.host} (${ids.join(', ')}), and onExisting is fail`,
      });
    }
    if (onExisting === 'adopt') {
      const [adopted, ...extra] = found;
      if (extra.length > 0) await killAndConfirm(input, new Set(extra.map((app) => app.id)));
      return {
        yarnAppId: adopted!.id,
        outputTail: '',
        adopted: true,
        ...(input.reportApp ? { report: adopted! } : {}),
      };
    }
    await killAndConfirm(input, new Set(ids));
    return undefined;
  }

  /**
   * With `reportApp`, the step's application as the host's next list shows it: a deploy of many apps then needs no
   * awaitApp per app. Not listed yet, or the edge node in doubt: no report, and the workflow's awaitApp waits.
   */
  async function withReport(input: RunStepInput, result: RunStepResult): Promise<RunStepResult> {
    const appId = result.yarnAppId ?? input.knownAppIds?.at(-1);
    if (!input.reportApp || !appId || result.report) return result;
    try {
      const report = appById(await deps.yarn.listLive(input.host), appId);
      return report ? { ...result, report } : result;
    } catch (err) {
      if (err instanceof YarnUnavailableError) return result;
      throw err;
    }
  }

  return {
    ...configActivities,
    ...serviceActivities(deps),
    findLiveApps,

    async runStep(input: RunStepInput): Promise<RunStepResult> {
      const ctx = Context.current();
      const step = withServiceRefs(deps, input.app, input.step, input.serviceSteps);
      const kind = step.pod ? 'pod' : step.ssh ? 'ssh' : 'service';
      const runner = step.pod ? deps.steps.pod : step.ssh ? deps.steps.ssh : deps.services;
      if (!runner) {
        throw ApplicationFailure.create({
          type: FailureType.NotConfigured,
          nonRetryable: true,
          message: `step "${step.name}": this worker has no ${kind} step runner`,
        });
      }
      const timeoutMs = durationMs((step.pod ?? step.ssh ?? step.service)!.timeout);
      const timeout = new AbortController();
      const timer = setTimeout(() => timeout.abort(), timeoutMs);
      let latest: unknown = { step: step.name };
      const stopHeartbeats = keepHeartbeating(() => latest);
      const stepCtx: StepContext = {
        app: input.app,
        workflowId: ctx.info.workflowExecution?.workflowId ?? '',
        runId: ctx.info.workflowExecution?.runId ?? '',
        revision: input.revision,
        attempt: input.attempt,
        stepName: step.name,
        signal: AbortSignal.any([ctx.cancellationSignal, timeout.signal]),
        handingOver: () => isWorkerShutdown(ctx.cancellationSignal),
        heartbeat: (details) => {
          latest = details ?? latest;
          ctx.heartbeat(latest);
        },
        previousDetails: ctx.info.heartbeatDetails as unknown,
        log: (message, fields) => {
          ctx.log.info(message, logFields(input, { step: step.name, ...fields }));
        },
      };
      try {
        const previous = stepCtx.previousDetails as { pod?: string } | undefined;
        // A service step submits nothing to YARN: a retry of it applies the same objects again.
        const lost = step.service
          ? undefined
          : await resolveLostTry(input, step.pod !== undefined && previous?.pod !== undefined);
        if (lost) {
          stepCtx.log('step not run again: adopted what its lost try submitted', {
            yarnAppId: lost.yarnAppId,
          });
          return lost;
        }
        stepCtx.log('step started', { kind });
        const result = step.pod
          ? await deps.steps.pod!.run(step.pod, stepCtx)
          : step.ssh
            ? await deps.steps.ssh!.run(step.ssh, stepCtx)
            : await deps.services!.run(step, stepCtx, timeoutMs);
        stepCtx.log('step finished', { yarnAppId: result.yarnAppId });
        return await withReport(input, result);
      } catch (err) {
        if (ctx.cancellationSignal.aborted) await ctx.cancelled; // rethrows the cancellation itself
        if (timeout.signal.aborted) {
          throw ApplicationFailure.create({
            type: FailureType.StepTimedOut,
            nonRetryable: true,
            message: `step "${step.name}" timed out after ${formatDuration(timeoutMs)}`,
            cause: err instanceof Error ? err : undefined,
          });
        }
        throw err;
      } finally {
        clearTimeout(timer);
        stopHeartbeats();
      }
    },

    async awaitApp(input: AwaitAppInput): Promise<YarnAppReport> {
      const started = Date.now();
      let lastProblem = 'not listed yet';
      const stopHeartbeats = keepHeartbeating(() => ({ waitingFor: input.appId ?? input.appName }));
      try {
        for (;;) {
          try {
            if (input.appId) {
              // The host's shared list answers for every app starting at once; `-status` (a JVM per call on
              // the edge node) only for one that is not live.
              const listed = (await deps.yarn.listLive(input.host)).find((app) => app.id === input.appId);
              if (listed) return listed;
              const report = await deps.yarn.status(input.host, input.appId);
              if (report) return report;
              lastProblem = `YARN does not know ${input.appId} yet`;
            } else {
              const [found] = await findLiveApps(input);
              if (found) return found;
            }
          } catch (err) {
            if (!(err instanceof YarnUnavailableError)) throw err;
            lastProblem = err.message;
          }
          if (Date.now() - started >= input.timeoutMs) {
            throw ApplicationFailure.create({
              type: FailureType.AppDidNotAppear,
              nonRetryable: true,
              message: `YARN application "${input.appName}" did not appear on ${input.host} within ${formatDuration(input.timeoutMs)} (${lastProblem})`,
            });
          }
          await sleepOrCancel(input.pollIntervalMs);
        }
      } finally {
        stopHeartbeats();
      }
    },

    async superviseApp(input: SuperviseInput): Promise<SupervisionOutcome> {
      const ctx = Context.current();
      const metrics = supervisionMetrics(input);
      const services = new ServiceWatch(deps, input);
      let failedPolls = 0;
      let firstFailureAt: number | undefined;
      // Only polls that start after supervision began count: an older one may predate the app.
      let after = Date.now();
      // Many apps are supervised at once, and a stop does not wait for this activity (TRY_CANCEL): heartbeat
      // every two thirds of the timeout, no more (the worker's 2 s throttle passes each one on to the server).
      const timeoutMs = ctx.info.heartbeatTimeoutMs ?? 30_000;
      // The first one at once: the app's pending activity shows its id and `kappa status` a heartbeat from the start.
      const stopHeartbeats = keepHeartbeating(
        () => ({ appId: input.appId, lastPollAt: after }),
        Math.max(heartbeatEveryMs, (timeoutMs * 2) / 3),
        true,
      );
      /** Every poll, told or passed over, counts once: it moves `after` and the app's metrics. */
      const observe = (snapshot: LiveSnapshot) => {
        if (snapshot.startedAt <= after) return;
        after = snapshot.startedAt;
        metrics.polled(snapshot);
      };
      // A poll that shows the app as it was, alone under its name, is passed over by the host's poller.
      const quiet = (snapshot: LiveSnapshot) => {
        const aborted = ctx.cancellationSignal.aborted;
        if (!quietPoll(input, snapshot, { aborted, services: services.watching })) return false;
        observe(snapshot);
        failedPolls = 0;
        firstFailureAt = undefined;
        return true;
      };
      try {
        for (;;) {
          const snapshot = await orCancelled(
            deps.yarn.nextLive(input.host, input.pollIntervalMs, after, {
              quiet,
              signal: ctx.cancellationSignal,
            }),
            ctx.cancellationSignal,
            () => ctx.cancelled,
          );
          observe(snapshot);
          if ('apps' in snapshot) {
            if (input.degradedSince !== undefined) {
              // After a ResourceManager restart a recovered app is ACCEPTED until its AM registers again.
              const own = appById(snapshot.apps, input.appId);
              const waiting =
                input.acceptedTimeoutMs !== undefined && own !== undefined && own.state !== 'RUNNING';
              return waiting
                ? {
                    kind: 'reachable',
                    accepted: { since: input.acceptedSince ?? snapshot.startedAt, state: own.state },
                  }
                : { kind: 'reachable' };
            }
            failedPolls = 0;
            firstFailureAt = undefined;
            const own = appById(snapshot.apps, input.appId);
            if (own) {
              // The invariant, on every poll: no other live instance of the name beside the supervised one.
              // Only while that one is live, and not once cancelled: a supervision the workflow has left (a
              // restart, a deploy) must never take the instance that replaced its app for an extra.
              const extras = appsNamed(snapshot.apps, input.appName).filter((app) => app.id !== input.appId);
              if (extras.length === 0 || ctx.cancellationSignal.aborted) {
                const change = acceptedChange(input, own, snapshot.startedAt) ?? (await services.change());
                if (change) return change;
                continue;
              }
              const onExisting = input.onExisting ?? 'kill';
              ctx.log.warn(
                'another live instance of the app',
                logFields(input, { extras: extras.map((app) => app.id), onExisting }),
              );
              if (onExisting === 'fail') return { kind: 'extraInstances', apps: extras, killed: false };
              for (const app of extras) await deps.yarn.kill(input.host, app.id);
              return { kind: 'extraInstances', apps: extras, killed: true };
            }
            let report: YarnAppReport | undefined;
            try {
              report = await deps.yarn.status(input.host, input.appId);
            } catch (err) {
              if (!(err instanceof YarnUnavailableError)) throw err;
              continue; // the next poll decides
            }
            if (report && isLive(report.state)) continue; // raced a state change
            ctx.log.info('YARN application left the live states', logFields(input, { report }));
            return {
              kind: 'ended',
              report: report ?? {
                id: input.appId,
                name: input.appName,
                state: 'UNKNOWN',
                finalStatus: 'UNDEFINED',
                diagnostics: 'YARN no longer knows this application id',
              },
            };
          }
          failedPolls += 1;
          firstFailureAt ??= snapshot.startedAt;
          ctx.log.warn('YARN poll failed', logFields(input, { error: snapshot.error, failedPolls }));
          if (input.degradedSince === undefined && failedPolls >= FAILED_POLLS_BEFORE_DEGRADED) {
            return { kind: 'unreachable', since: firstFailureAt, error: snapshot.error };
          }
          if (
            input.degradedSince !== undefined &&
            Date.now() - input.degradedSince >= input.unreachableTimeoutMs
          ) {
            throw ApplicationFailure.create({
              type: FailureType.EdgeNodeUnreachable,
              nonRetryable: true,
              message: `${input.host} unreachable for ${formatDuration(input.unreachableTimeoutMs)}: ${snapshot.error}`,
            });
          }
        }
      } finally {
        stopHeartbeats();
        metrics.close();
      }
    },

    /** Kills `appId` and any live app of the same name, then waits until none of them is live. */
    async killApp(input: KillAppInput): Promise<KillAppResult> {
      const ids = new Set(input.only ? [] : (await findLiveApps(input)).map((app) => app.id));
      if (input.appId) ids.add(input.appId);
      const stopHeartbeats = keepHeartbeating(() => ({ killing: [...ids] }));
      try {
        await killAndConfirm(input, ids);
        return { killed: [...ids] };
      } finally {
        stopHeartbeats();
      }
    },
  };
}

export type KappaActivities = ReturnType<typeof createActivities>;

/** The SDK cancels running activities with this message once a stopping worker's shutdownGraceTime is over. */
function isWorkerShutdown(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as Error | undefined)?.message === 'WORKER_SHUTDOWN';
}
