// An attempt: the existing-instance check, the steps from `from`, then, unless the last step saw it listed, the wait
// for the app to show up in YARN.
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { durationMs } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { Step } from '../config/app-config.js';
import type { YarnAppReport } from '../yarn/model.js';
import {
  appearPollMs,
  awaitAppActivities,
  checkActivities,
  localCheckActivities,
  stepActivities,
} from './activity-options.js';
import type { AppState } from './app-state.js';
import { interruptible } from './interruptible.js';
import { Phase } from '../common/phases.js';
import { killApp, onFailure, removeServices } from './restarts.js';
import { stepSummary, yarnSummary } from './ui-details.js';
import type { Next } from './types.js';

/** The app found in YARN at the end of an attempt, and whether it was there before (adopted, not submitted). */
interface Found {
  report: YarnAppReport;
  adopted: boolean;
}

export async function startAttempt(state: AppState, from: string, reason: string): Promise<Next> {
  state.instance = undefined;
  state.setPhase(Phase.Starting, reason);
  const attempt = state.beginAttempt(from, reason);

  const outcome = await interruptible(
    () => runSteps(state, from, attempt),
    () => state.pending !== undefined,
  );
  state.step = null;
  if (outcome.kind === 'interrupted') {
    state.endAttempt(attempt, state.pending?.kind === 'stop' ? 'stopped' : 'restarted');
    return { kind: 'interrupted' };
  }
  if (outcome.kind === 'error') return onFailure(state, outcome.error, attempt);
  const { report, adopted } = outcome.value;
  state.instance = { appId: report.id };
  state.endAttempt(attempt, adopted ? 'adopted' : 'running', { yarnAppId: report.id });
  const now = Date.now();
  // Found, but not RUNNING yet: supervision keeps the app Starting until YARN says RUNNING.
  const accepted = report.state === 'RUNNING' ? {} : { acceptedSince: now };
  const tracking = report.trackingUrl ? { trackingUrl: report.trackingUrl } : {};
  return { kind: 'supervise', appId: report.id, runningSince: now, ...accepted, ...tracking };
}

async function runSteps(state: AppState, from: string, attempt: number): Promise<Found> {
  const { yarn } = state.config.spec;
  const ref = state.appRef;
  // Services a deploy dropped go before the new revision starts (a failure here fails the attempt, and they
  // are tried again at the next one).
  if (state.retiredServices.length > 0) {
    await removeServices(state, `deploy revision ${state.revision}`, state.retiredServices);
    state.retiredServices = [];
  }
  const existing = await findLive(state);
  state.heard();
  if (existing.length > 0) {
    const ids = existing.map((a) => a.id).join(', ');
    if (yarn.onExisting === 'fail') {
      throw ApplicationFailure.create({
        type: FailureType.ExistingInstance,
        nonRetryable: true,
        message: `"${yarn.appName}" is already live on ${yarn.host} (${ids}) and onExisting is fail`,
      });
    }
    if (yarn.onExisting === 'adopt') {
      const [adopted, ...extra] = existing;
      // Never two copies: an adopted app keeps running, any other instance of the name goes.
      for (const app of extra) await killApp(state, app.id);
      return { report: adopted!, adopted: true };
    }
    await killApp(state);
  }

  let submittedId: string | undefined;
  let adopted = false;
  let listed: YarnAppReport | undefined;
  const steps = stepsFrom(state.config.spec.steps, from);
  for (const [i, step] of steps.entries()) {
    state.step = step.name;
    const last = i === steps.length - 1;
    const result = await stepActivities(
      durationMs((step.pod ?? step.ssh ?? step.service)!.timeout),
      stepSummary(step, attempt),
    ).runStep({
      ...ref,
      revision: state.revision,
      attempt,
      step,
      onExisting: yarn.onExisting,
      knownAppIds: submittedId ? [submittedId] : [],
      ...withServiceSteps(state),
      ...(last && state.patches.quickStart ? { reportApp: true } : {}),
    });
    state.heard();
    submittedId = result.yarnAppId ?? submittedId;
    adopted ||= result.adopted === true;
    listed = result.report;
  }
  state.step = null;
  if (listed) return { report: listed, adopted };

  const appearTimeoutMs = durationMs(yarn.appearTimeout);
  const report = await awaitAppActivities(
    appearTimeoutMs,
    yarnSummary(`wait for ${submittedId ?? `"${yarn.appName}"`} to appear in YARN`, yarn.host),
  ).awaitApp({
    ...ref,
    appId: submittedId,
    timeoutMs: appearTimeoutMs,
    pollIntervalMs: appearPollMs(durationMs(yarn.pollInterval)),
  });
  state.heard();
  return { report, adopted };
}

/**
 * The live instances of the app's name: first as a local activity (one try), then, if that failed, as an activity
 * retried while the edge node is unreachable, which `kappa status` and the UI show with its attempts and error.
 */
async function findLive(state: AppState): Promise<YarnAppReport[]> {
  const { yarn } = state.config.spec;
  const summary = yarnSummary(`find live "${yarn.appName}" before submitting`, yarn.host);
  if (state.patches.quickStart) {
    try {
      return await localCheckActivities(summary).findLiveApps(state.appRef);
    } catch (err) {
      if (isCancellation(err)) throw err;
    }
  }
  return checkActivities(durationMs(yarn.unreachableTimeout), summary).findLiveApps(state.appRef);
}

/** The steps from the one named `from` on (all of them when there is none of that name). */
function stepsFrom(steps: Step[], from: string): Step[] {
  return steps.slice(
    Math.max(
      0,
      steps.findIndex((s) => s.name === from),
    ),
  );
}

/** The app's service steps for a step's input, when it has any (inputs of apps without stay as they were). */
function withServiceSteps(state: AppState): { serviceSteps?: Step[] } {
  const serviceSteps = state.serviceSteps;
  return serviceSteps.length > 0 ? { serviceSteps } : {};
}
