// Supervision: the app runs on YARN; the poller reports when it ends or the edge node stops answering.
import { ApplicationFailure, CancellationScope, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { durationMs } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import { Phase } from '../common/phases.js';
import type { YarnAppReport } from '../yarn/model.js';
import { supervisionActivities } from './activity-options.js';
import type { AppState, Instance } from './app-state.js';
import { interruptible } from './interruptible.js';
import { recordExtraInstances } from './metrics.js';
import { killApp, onFailure, removeServices } from './restarts.js';
import type { Next, Resume } from './types.js';
import { supervisionSummary } from './ui-details.js';

/** Marks runs in which an app SUBMITTED/ACCEPTED in YARN is Starting, not Running. */
const ACCEPTED_IS_STARTING_PATCH = 'accepted-is-starting';

/**
 * How supervision of one instance ended: the app left the live states, another instance must win, or it never
 * got past ACCEPTED.
 */
type Watched =
  | { kind: 'ended'; report: YarnAppReport }
  | { kind: 'conflict'; ids: string[] }
  | { kind: 'notRunning'; report: YarnAppReport };

export async function supervise(
  state: AppState,
  {
    appId,
    runningSince,
    degradedSince,
    serviceDegradedSince,
    acceptedSince,
    trackingUrl,
  }: Extract<Resume, { kind: 'supervise' }>,
): Promise<Next> {
  const { yarn } = state.config.spec;
  // Runs recorded before it took any live state for running; they replay unchanged.
  const acceptedIsStarting = patched(ACCEPTED_IS_STARTING_PATCH);
  const instance: Instance = {
    appId,
    runningSince,
    degradedSince,
    serviceDegradedSince,
    acceptedSince: acceptedIsStarting ? acceptedSince : undefined,
    trackingUrl,
  };
  state.instance = instance;
  /** Degraded while the edge node is unreachable or a model service is down, else Running when YARN says RUNNING. */
  const livePhase = () =>
    instance.degradedSince !== undefined || instance.serviceDegradedSince !== undefined
      ? Phase.Degraded
      : instance.acceptedSince !== undefined
        ? Phase.Starting
        : Phase.Running;
  state.setPhase(
    livePhase(),
    instance.acceptedSince === undefined ? appId : `${appId} not RUNNING in YARN yet`,
  );

  const pollMs = durationMs(yarn.pollInterval);
  const serviceSteps = state.serviceSteps;
  const supervision = supervisionActivities(pollMs, supervisionSummary(appId, yarn.host, yarn.pollInterval));
  const work = async (): Promise<Watched> => {
    const stopResetTimer = resetBudgetAfter(
      state,
      runningSince + durationMs(state.config.spec.restartPolicy.resetAfter),
    );
    try {
      for (;;) {
        const outcome = await supervision.superviseApp({
          ...state.appRef,
          kind: state.config.kind,
          appId,
          pollIntervalMs: pollMs,
          unreachableTimeoutMs: durationMs(yarn.unreachableTimeout),
          degradedSince: instance.degradedSince,
          onExisting: yarn.onExisting,
          ...(acceptedIsStarting
            ? { acceptedTimeoutMs: acceptedTimeoutMs(state), acceptedSince: instance.acceptedSince }
            : {}),
          // For the app's metrics only (kappa_app_restarts_used/allowed).
          restartBudget: {
            used: state.restarts,
            allowed: state.restartPolicyMs.maxRestarts,
            resetsAt: runningSince + state.restartPolicyMs.resetAfterMs,
          },
          // Apps without model services keep the input they always had.
          ...(serviceSteps.length > 0
            ? {
                services: {
                  revision: state.revision,
                  steps: serviceSteps,
                  ...(instance.serviceDegradedSince === undefined
                    ? {}
                    : { degradedSince: instance.serviceDegradedSince }),
                },
              }
            : {}),
        });
        state.heard();
        if (outcome.kind === 'ended') return { kind: 'ended', report: outcome.report };
        if (outcome.kind === 'extraInstances') {
          const ids = outcome.apps.map((app) => app.id);
          const action = outcome.killed ? 'killed' : 'conflict';
          state.noteExtraInstances(appId, ids, action);
          recordExtraInstances(state.name, ids.length, action);
          if (!outcome.killed) return { kind: 'conflict', ids };
          continue;
        }
        if (outcome.kind === 'notRunning') return { kind: 'notRunning', report: outcome.report };
        if (outcome.kind === 'accepted') {
          instance.acceptedSince = outcome.since;
          state.setPhase(livePhase(), `YARN shows ${appId} ${outcome.state}, not RUNNING`);
        } else if (outcome.kind === 'running') {
          instance.acceptedSince = undefined;
          state.setPhase(livePhase(), `YARN shows ${appId} RUNNING`);
        } else if (outcome.kind === 'serviceUnavailable') {
          // The stream keeps running: a model service that is down is for the operator, not a restart.
          instance.serviceDegradedSince = outcome.since;
          state.lastError = `model service "${outcome.step}" unavailable: ${outcome.reason}`;
          state.setPhase(Phase.Degraded, state.lastError);
        } else if (outcome.kind === 'serviceAvailable') {
          instance.serviceDegradedSince = undefined;
          state.lastError = null;
          state.setPhase(livePhase(), 'model services available again');
        } else if (outcome.kind === 'unreachable') {
          instance.degradedSince = outcome.since;
          state.lastError = `edge node ${yarn.host} unreachable: ${outcome.error}`;
          state.setPhase(Phase.Degraded, state.lastError);
        } else {
          instance.degradedSince = undefined;
          instance.acceptedSince = outcome.accepted?.since;
          state.lastError = null; // the outage is over; its text would read as a problem now
          state.setPhase(livePhase(), `edge node ${yarn.host} answers again`);
        }
      }
    } finally {
      stopResetTimer();
    }
  };

  const outcome = await interruptible(
    work,
    () => state.pending !== undefined || workflowInfo().continueAsNewSuggested,
  );
  if (outcome.kind === 'interrupted') {
    return {
      kind: 'supervise',
      appId,
      runningSince,
      degradedSince: instance.degradedSince,
      ...(instance.serviceDegradedSince === undefined
        ? {}
        : { serviceDegradedSince: instance.serviceDegradedSince }),
      ...(instance.acceptedSince === undefined ? {} : { acceptedSince: instance.acceptedSince }),
      ...(trackingUrl === undefined ? {} : { trackingUrl }),
    };
  }
  // The attempt that started this app ends with it.
  const attempt = state.attemptOf(appId);
  if (outcome.kind === 'error') return onFailure(state, outcome.error, attempt);
  if (outcome.value.kind === 'conflict') return giveWay(state, appId, outcome.value.ids, attempt);
  if (outcome.value.kind === 'notRunning') return notRunning(state, outcome.value.report, attempt);
  const { report } = outcome.value;
  if (state.config.kind === 'BatchJob' && report.state === 'FINISHED' && report.finalStatus === 'SUCCEEDED') {
    state.lastError = null;
    await removeServices(state, `${report.id} FINISHED/SUCCEEDED`); // the run is over: nothing calls them now
    if (attempt !== undefined) state.endAttempt(attempt, 'succeeded');
    state.setPhase(Phase.Succeeded, `${report.id} FINISHED/SUCCEEDED`);
    return { kind: 'finished' };
  }
  return onFailure(
    state,
    ApplicationFailure.create({
      type: FailureType.AppEnded,
      message: `YARN application ${report.id} ended ${report.state}/${report.finalStatus}${
        report.diagnostics ? `: ${report.diagnostics}` : ''
      }`,
    }),
    attempt,
  );
}

/** `acceptedTimeout` of the config; configs carried by runs of older releases lack it. */
function acceptedTimeoutMs(state: AppState): number {
  return durationMs(state.config.spec.yarn.acceptedTimeout ?? ACCEPTED_TIMEOUT_DEFAULT);
}
const ACCEPTED_TIMEOUT_DEFAULT = '10m';

/**
 * The app stayed SUBMITTED/ACCEPTED past `acceptedTimeout` (a full queue, an ApplicationMaster that cannot start):
 * Kappa kills it, so a later attempt cannot make a second copy, and the restart policy decides.
 */
async function notRunning(state: AppState, report: YarnAppReport, attempt?: number): Promise<Next> {
  await killApp(state, report.id, { only: true });
  const { yarn } = state.config.spec;
  return onFailure(
    state,
    ApplicationFailure.create({
      type: FailureType.AppNotRunning,
      message: `YARN application ${report.id} stayed ${report.state} for ${yarn.acceptedTimeout ?? ACCEPTED_TIMEOUT_DEFAULT} without running (a full queue? an ApplicationMaster that cannot start?); killed it${report.diagnostics ? `. Diagnostics: ${report.diagnostics}` : ''}`,
    }),
    attempt,
  );
}

/**
 * `onExisting: fail` and another instance of the name is live: Kappa's own instance goes, so there are never two,
 * and the app fails at once (no restart can succeed while the other one runs).
 */
async function giveWay(state: AppState, appId: string, others: string[], attempt?: number): Promise<never> {
  const { yarn } = state.config.spec;
  const message = `"${yarn.appName}" is also live on ${yarn.host} as ${others.join(', ')} and onExisting is fail: killed ${appId}, the app fails`;
  await killApp(state, appId, { only: true });
  state.lastError = message;
  if (attempt !== undefined) state.endAttempt(attempt, 'failed', { error: message });
  state.instance = undefined;
  state.setPhase(Phase.Failed, message);
  throw ApplicationFailure.create({ type: FailureType.ExistingInstance, nonRetryable: true, message });
}

/**
 * A stable app earns a fresh budget after `resetAfter`, visible in `status` as soon as it does. Returns the
 * function that cancels the timer.
 */
function resetBudgetAfter(state: AppState, resetAt: number): () => void {
  const timer = new CancellationScope();
  void timer
    .run(async () => {
      if (state.restarts === 0) return;
      await sleep(Math.max(0, resetAt - Date.now()), { summary: 'resetAfter: restart budget resets' });
      state.restarts = 0;
      state.sync();
    })
    .catch(() => undefined);
  return () => timer.cancel();
}
