// Restart-policy maths: pure functions the workflow calls with workflow time, so they replay deterministically.

export interface BackoffPolicy {
  initialMs: number;
  factor: number;
  maxMs: number;
}

export interface RestartPolicyMs {
  maxRestarts: number;
  backoff: BackoffPolicy;
  resetAfterMs: number;
}

/** The restart budget as it stands: `restarts` counts automatic restarts since the last reset. */
export interface RestartBudget {
  restarts: number;
  totalRestarts: number;
}

/** Delay before automatic restart number `restart` (1-based): initial · factor^(restart-1), capped at max. */
export function backoffDelayMs(backoff: BackoffPolicy, restart: number): number {
  if (restart < 1) throw new RangeError(`restart numbers start at 1, got ${restart}`);
  const delay = backoff.initialMs * Math.pow(backoff.factor, restart - 1);
  return Math.min(delay, backoff.maxMs);
}

/** Whether an app that has been RUNNING since `runningSince` has earned a fresh budget at `now`. */
export function hasEarnedReset(
  policy: RestartPolicyMs,
  runningSince: number | undefined,
  now: number,
): boolean {
  return runningSince !== undefined && now - runningSince >= policy.resetAfterMs;
}

export type FailureDecision =
  { kind: 'restart'; budget: RestartBudget; delayMs: number } | { kind: 'giveUp'; budget: RestartBudget };

/**
 * What to do when the app failed at `now`. An app that ran for `resetAfter` first gets its count reset, so
 * a long-stable app that dies is treated like a fresh one.
 */
export function decideAfterFailure(
  policy: RestartPolicyMs,
  budget: RestartBudget,
  runningSince: number | undefined,
  now: number,
): FailureDecision {
  const restarts = hasEarnedReset(policy, runningSince, now) ? 0 : budget.restarts;
  if (restarts >= policy.maxRestarts) {
    return { kind: 'giveUp', budget: { restarts, totalRestarts: budget.totalRestarts } };
  }
  const next = { restarts: restarts + 1, totalRestarts: budget.totalRestarts + 1 };
  return { kind: 'restart', budget: next, delayMs: backoffDelayMs(policy.backoff, next.restarts) };
}
