// What happens between runs of the app: failures judged against the restart policy, backoff, manual restarts and
// stops. Every path that could leave a YARN application behind kills it first.
import {
  ApplicationFailure,
  CancellationScope,
  log,
  patched,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { durationMs } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import { Phase } from '../common/phases.js';
import { decideAfterFailure } from '../common/restart-policy.js';
import { killActivities, serviceRemovalActivities } from './activity-options.js';
import type { AppState } from './app-state.js';
import { describeFailure } from './describe-failure.js';
import { interruptible } from './interruptible.js';
import { recordRestart } from './metrics.js';
import type { Next, PendingRequest } from './types.js';
import { yarnSummary } from './ui-details.js';

/** Marks runs in which a `stop --leave-running` that arrives while a stop is killing the app ends that kill. */
const LEAVE_RUNNING_TAKES_OVER_PATCH = 'leave-running-takes-over';

/** Judges a failure of attempt `attempt` (if it is known): a backoff before the next restart, or giving up. */
export function onFailure(state: AppState, err: unknown, attempt?: number): Next {
  const message = describeFailure(err);
  state.lastError = message;
  if (attempt !== undefined) state.endAttempt(attempt, 'failed', { error: message });
  const decision = decideAfterFailure(
    state.restartPolicyMs,
    { restarts: state.restarts, totalRestarts: state.totalRestarts },
    state.instance?.runningSince,
    Date.now(),
  );
  state.restarts = decision.budget.restarts;
  state.instance = undefined;
  const { maxRestarts } = state.config.spec.restartPolicy;
  if (decision.kind === 'giveUp') {
    state.setPhase(Phase.Failed, message);
    throw ApplicationFailure.create({
      type: FailureType.RestartBudgetExhausted,
      nonRetryable: true,
      message: `${state.name}: gave up after ${maxRestarts} restart${maxRestarts === 1 ? '' : 's'}; last error: ${message}`,
    });
  }
  state.totalRestarts = decision.budget.totalRestarts;
  recordRestart(state.name);
  state.sync();
  log.info(`restart ${state.restarts} of ${maxRestarts} in ${decision.delayMs} ms: ${message}`, {
    app: state.name,
  });
  return { kind: 'backoff', until: Date.now() + decision.delayMs, from: state.restartFrom };
}

export async function backOff(state: AppState, until: number, from: string): Promise<Next> {
  state.backoffUntil = until;
  state.setPhase(Phase.BackingOff);
  const budget = `restart ${state.restarts} of ${state.config.spec.restartPolicy.maxRestarts}`;
  const outcome = await interruptible(
    () => sleep(Math.max(0, until - Date.now()), { summary: `backoff before ${budget}` }),
    () => state.pending !== undefined || workflowInfo().continueAsNewSuggested,
  );
  if (outcome.kind === 'interrupted') return { kind: 'backoff', until, from };
  return { kind: 'start', from, reason: budget };
}

/** Acts on a stop or restart that arrived while the workflow was at `next`. */
export async function handlePending(state: AppState, request: PendingRequest, next: Next): Promise<Next> {
  if (request.kind === 'stop') {
    await CancellationScope.nonCancellable(() => stop(state, request));
    return { kind: 'finished' };
  }
  // A manual restart or a new revision: take down the running instance first, then start over.
  const from = request.from ?? state.restartFrom;
  log.info(`restart from step "${from}": ${request.reason}`, { app: state.name });
  if (next.kind === 'supervise' || next.kind === 'start' || next.kind === 'interrupted') {
    try {
      await CancellationScope.nonCancellable(() => killApp(state, state.instance?.appId));
    } catch (err) {
      return onFailure(state, err);
    }
  }
  return { kind: 'start', from, reason: request.reason };
}

export async function stop(
  state: AppState,
  request: Extract<PendingRequest, { kind: 'stop' }>,
): Promise<void> {
  state.setPhase(Phase.Stopping, request.reason);
  let leaveRunning = request.leaveRunning;
  if (!leaveRunning) {
    try {
      if (patched(LEAVE_RUNNING_TAKES_OVER_PATCH)) {
        // A kill held up by an edge node that does not answer can take minutes: `stop --leave-running` ends it.
        const killed = await interruptible(
          () => killApp(state, state.instance?.appId),
          () => state.pending?.kind === 'stop' && state.pending.leaveRunning,
        );
        if (killed.kind === 'error') throw killed.error;
        if (killed.kind === 'interrupted') {
          state.takePending();
          leaveRunning = true;
        }
      } else {
        await killApp(state, state.instance?.appId);
      }
    } catch (err) {
      state.lastError = `stop (${request.reason}) could not kill the YARN application: ${describeFailure(err)}`;
      state.setPhase(Phase.Failed, state.lastError);
      throw ApplicationFailure.create({ type: FailureType.EdgeNodeUnreachable, message: state.lastError });
    }
  }
  if (!leaveRunning) {
    await removeServices(state, `stop (${request.reason})`, [
      ...state.serviceSteps,
      ...state.retiredServices.splice(0),
    ]);
  }
  // The attempt in progress, or the one whose app was running: it ends here.
  const last = state.attempts.at(-1);
  if (last && (!last.endedAt || last.outcome === 'running' || last.outcome === 'adopted')) {
    state.endAttempt(last.attempt, 'stopped');
  }
  state.setPhase(Phase.Stopped, leaveRunning ? 'left running on YARN' : request.reason);
}

/**
 * Deletes model services (by default the app's: its service steps' Deployments and Services) once nothing uses
 * them; a failure
 * fails the workflow naming what is left, so nothing keeps running unnoticed. Nothing for apps without any.
 */
export async function removeServices(
  state: AppState,
  why: string,
  steps = state.serviceSteps,
): Promise<void> {
  if (steps.length === 0) return;
  const names = steps.map((step) => step.name).join(', ');
  try {
    await serviceRemovalActivities(`delete the model services of steps ${names}`).removeServices({
      app: state.name,
      steps,
    });
  } catch (err) {
    state.lastError = `${why} could not delete the model services (steps ${names}): ${describeFailure(err)}`;
    state.setPhase(Phase.Failed, state.lastError);
    throw ApplicationFailure.create({ type: FailureType.ServiceLeftBehind, message: state.lastError });
  }
}

/** Kills `appId` and every other live instance of the app's YARN name (with `only`, `appId` alone). */
export async function killApp(
  state: AppState,
  appId?: string,
  options: { only?: boolean } = {},
): Promise<void> {
  const { yarn } = state.config.spec;
  const what = options.only
    ? `kill ${appId}`
    : `kill ${appId ? `${appId} and ` : ''}every live "${yarn.appName}"`;
  await killActivities(durationMs(yarn.unreachableTimeout), yarnSummary(what, yarn.host)).killApp({
    ...state.appRef,
    appId,
    ...(options.only ? { only: true } : {}),
  });
  state.heard();
}
