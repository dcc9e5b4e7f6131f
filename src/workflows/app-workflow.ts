// The app workflow: one per app (id `kappa/<name>`). Runs the steps, supervises the YARN application, and
// re-runs the steps under the restart policy. Deterministic code only: all I/O is in activities. The state is in
// app-state.ts; each phase in its own module (attempt, supervision, restarts).
import {
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import { Phase } from '../common/phases.js';
import { stableJson } from '../common/stable-json.js';
import type { AppConfig } from '../config/app-config.js';
import { formatIssue } from '../config/issues.js';
import { AppState } from './app-state.js';
import { startAttempt } from './attempt.js';
import { runPatches } from './run-patches.js';
import { deployUpdate, restartSignal, statusQuery, stopSignal } from './definitions.js';
import { backOff, handlePending, stop } from './restarts.js';
import { supervise } from './supervision.js';
import type { AppStatus, AppWorkflowInput, Next, Resume } from './types.js';
import { validationActivities } from './activity-options.js';
import { validateAppConfigInline } from './inline-validation.js';
import { checkedWorkflowInput, checkWorkflowInput, unwrapWorkflowInput } from './workflow-input.js';

/** Marks runs that check their own input (runs recorded before it replay unchanged). */
const CHECKED_INPUT_PATCH = 'check-workflow-input';
/** Marks runs whose input check runs in a local activity, so a workflow never loads the schema library at start. */
const INPUT_CHECK_ACTIVITY_PATCH = 'input-check-in-activity';

export async function appWorkflow(input: AppWorkflowInput): Promise<AppStatus> {
  const patches = runPatches(); // before the input check's local activity: see run-patches.ts
  // A continued run carries a config its predecessor accepted: only a fresh start checks.
  if (input?.carried === undefined) {
    if (patched(INPUT_CHECK_ACTIVITY_PATCH)) input = await checkInputByActivity(input);
    else if (patched(CHECKED_INPUT_PATCH)) input = checkWorkflowInput(input, workflowInfo().workflowId);
  }
  const state = new AppState(input, patches);
  installHandlers(state);
  let next: Next = input.carried?.resume ?? { kind: 'start', from: state.firstStep, reason: 'deployed' };
  state.sync();
  try {
    for (;;) {
      const request = state.takePending();
      if (request) next = await handlePending(state, request, next);
      if (next.kind === 'finished') return state.status();
      if (next.kind === 'interrupted') {
        // Only a stop or restart interrupts an attempt, and it was taken above: never reached.
        throw ApplicationFailure.nonRetryable('an attempt was interrupted with no request to act on');
      }
      if (workflowInfo().continueAsNewSuggested) await continueAsNewFrom(state, next);
      next = await advance(state, next);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // A cancelled workflow (Temporal UI, `temporal workflow cancel`) is a stop: never orphan the app.
    await CancellationScope.nonCancellable(() =>
      stop(state, { kind: 'stop', leaveRunning: false, reason: 'cancelled' }),
    );
    throw err;
  }
}

async function checkInputByActivity(input: unknown): Promise<AppWorkflowInput> {
  const unwrapped = unwrapWorkflowInput(input);
  const result = await validationActivities().validateConfig({
    raw: unwrapped.raw,
    minimums: !unwrapped.wrapped,
  });
  return checkedWorkflowInput(result, unwrapped, workflowInfo().workflowId);
}

function advance(state: AppState, next: Resume): Promise<Next> {
  switch (next.kind) {
    case 'start':
      return startAttempt(state, next.from, next.reason);
    case 'supervise':
      return supervise(state, next);
    case 'backoff':
      return backOff(state, next.until, next.from);
  }
}

async function continueAsNewFrom(state: AppState, next: Resume): Promise<never> {
  await condition(allHandlersFinished);
  return continueAsNew<typeof appWorkflow>({
    config: state.config,
    revision: state.revision,
    carried: state.carried(next),
  });
}

function installHandlers(state: AppState): void {
  setHandler(stopSignal, (request) => {
    state.pending = {
      kind: 'stop',
      leaveRunning: request?.leaveRunning ?? false,
      reason: request?.reason ?? 'stop signal',
    };
  });
  setHandler(restartSignal, (request) => {
    if (state.pending?.kind === 'stop') return; // a stop wins over anything else
    state.pending = { kind: 'restart', reason: request?.reason ?? 'restart signal' };
  });
  setHandler(
    deployUpdate,
    (raw) => {
      // The handler gets its own copy of the input, and validators do not run on replay: parse it here too.
      const config = checkDeploy(state, raw);
      const changed = stableJson(config) !== stableJson(withDefaults(state.config));
      if (changed) {
        state.retireServicesMissingFrom(config);
        state.config = config;
        state.revision += 1;
        if (state.pending?.kind !== 'stop') {
          state.pending = {
            kind: 'restart',
            reason: `deploy revision ${state.revision}`,
            from: state.firstStep,
          };
        }
        state.sync();
      }
      return { revision: state.revision, changed };
    },
    {
      validator: (raw) => {
        checkDeploy(state, raw);
        if (state.pending?.kind === 'stop' || state.phase === Phase.Stopping) {
          throw invalidDeploy('the app is stopping; deploy again once it has stopped');
        }
      },
    },
  );
  setHandler(statusQuery, () => state.status());
}

/** The config a `deploy` update carries, checked against this app; an ApplicationFailure names what is wrong. */
function checkDeploy(state: AppState, raw: unknown): AppConfig {
  const result = validateAppConfigInline(raw);
  if (!result.ok) throw invalidDeploy(result.issues.map(formatIssue).join('\n'));
  const { metadata, kind } = result.config;
  if (metadata.name !== state.name) {
    throw invalidDeploy(`metadata.name: this workflow runs "${state.name}", not "${metadata.name}"`);
  }
  if (kind !== state.config.kind)
    throw invalidDeploy(`kind: this app is a ${state.config.kind}, not a ${kind}`);
  return result.config;
}

/**
 * The running config with this release's defaults filled in: a field added since the app was deployed must not make
 * an unchanged deploy look like a change (that would restart every app once after an upgrade).
 */
function withDefaults(config: AppConfig): AppConfig {
  const result = validateAppConfigInline(config);
  return result.ok ? result.config : config;
}

function invalidDeploy(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: FailureType.InvalidConfig, nonRetryable: true, message });
}
