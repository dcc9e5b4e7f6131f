// How the app workflow calls each activity: timeouts, heartbeats and retries, one named builder per use, each
// with the reason for its numbers.
import {
  ActivityCancellationType,
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { KappaActivities } from '../activities/activities.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';

/** A dead worker is noticed after this long without a heartbeat; the activity then runs on another worker. */
const HEARTBEAT_TIMEOUT = '15s';
/**
 * A supervision's heartbeat timeout, as a multiple of the poll interval and within these bounds: how long the apps
 * of a worker that died (not one shut down: its supervisions end and move at once) wait for another worker, 2 min
 * at the default 10 s poll. Every supervised app heartbeats every two thirds of it, and heartbeats were half of
 * what 1000 apps cost a worker at rest with 60 s; the YARN apps run on meanwhile, only their supervision waits.
 */
const SUPERVISION_HEARTBEAT = { polls: 12, minMs: 15_000, maxMs: 180_000 };
/** Room for an activity to report its own timeout (with a clearer message) before Temporal's fires. */
const OWN_TIMEOUT_MARGIN_MS = 60_000;

/** Transient trouble (a dropped connection, a busy edge node) is retried; typed failures are final. */
export const retryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

function activities(options: ActivityOptions) {
  return proxyActivities<KappaActivities>({
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    // Wait for clean-up (pod deleted, remote process ended) before the workflow moves on.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: retryPolicy,
    ...options,
  });
}

/** The existing-instance check: retried while the edge node is unreachable, for up to `unreachableTimeout`. */
export function checkActivities(unreachableTimeoutMs: number, summary?: string) {
  return activities({ startToCloseTimeout: '2m', scheduleToCloseTimeout: unreachableTimeoutMs, summary });
}

/**
 * The existing-instance check as a local activity, tried once: it runs inside the workflow task, which spares a
 * start one workflow task and one activity task. If it fails, checkActivities retries it where operators see it.
 */
export function localCheckActivities(summary?: string) {
  return proxyLocalActivities<KappaActivities>({
    // A `yarn application -list` (a JVM on the edge node) shared by every app starting on the host.
    startToCloseTimeout: '30s',
    retry: { maximumAttempts: 1 },
    summary,
  });
}

/** A step: its own `timeout` ends it first; a few tries cover a worker lost mid-step (the runner reattaches). */
export function stepActivities(stepTimeoutMs: number, summary?: string) {
  return activities({
    startToCloseTimeout: stepTimeoutMs + OWN_TIMEOUT_MARGIN_MS,
    retry: { ...retryPolicy, maximumAttempts: 3 },
    summary,
  });
}

/** The wait for the app to show up in YARN, bounded by `appearTimeout`. */
export function awaitAppActivities(appearTimeoutMs: number, summary?: string) {
  return activities({ startToCloseTimeout: appearTimeoutMs + OWN_TIMEOUT_MARGIN_MS, summary });
}

/** How often the app-appearance wait polls: the app's interval, but never slower than 5 s at start-up. */
export function appearPollMs(pollIntervalMs: number): number {
  return Math.min(pollIntervalMs, 5_000);
}

/** Supervision runs as long as the app lives; only heartbeats tell whether its worker is alive. */
export function supervisionActivities(pollIntervalMs: number, summary?: string) {
  const { polls, minMs, maxMs } = SUPERVISION_HEARTBEAT;
  return activities({
    summary,
    startToCloseTimeout: '3650d',
    // Scaled with the poll interval: a worker that died is noticed within a few polls.
    heartbeatTimeout: Math.min(Math.max(polls * pollIntervalMs, minMs), maxMs),
    // Nothing to clean up: a stop need not wait for the poller to hear of it.
    cancellationType: ActivityCancellationType.TRY_CANCEL,
  });
}

/** Killing the app: kept trying while the edge node might come back; past that, fail loudly. */
export function killActivities(unreachableTimeoutMs: number, summary?: string) {
  return activities({
    summary,
    startToCloseTimeout: '3m',
    scheduleToCloseTimeout: unreachableTimeoutMs + 3 * 60_000,
  });
}

/** Deleting an app's model services: retried while the API server is away, then the stop fails loudly. */
export function serviceRemovalActivities(summary?: string) {
  return activities({ summary, startToCloseTimeout: '3m', scheduleToCloseTimeout: '10m' });
}

/** The config check of a hand-started input: pure and quick, so a local activity in the same workflow task. */
export function validationActivities() {
  return proxyLocalActivities<KappaActivities>({
    startToCloseTimeout: '30s',
    retry: { ...retryPolicy, maximumAttempts: 3 },
    summary: 'validate the app config',
  });
}
