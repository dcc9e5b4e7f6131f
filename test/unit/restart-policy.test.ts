import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffDelayMs,
  decideAfterFailure,
  hasEarnedReset,
  type RestartPolicyMs,
} from '../../src/common/restart-policy.js';

const policy: RestartPolicyMs = {
  maxRestarts: 5,
  backoff: { initialMs: 30_000, factor: 2, maxMs: 600_000 },
  resetAfterMs: 3_600_000,
};

describe('restart policy', () => {
  test('backoff grows by the factor from initial and is capped at max', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7].map((n) => backoffDelayMs(policy.backoff, n));
    assert.deepEqual(delays, [30_000, 60_000, 120_000, 240_000, 480_000, 600_000, 600_000]);
  });

  test('factor 1 is a constant delay; fractional factors work', () => {
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelayMs({ initialMs: 5_000, factor: 1, maxMs: 60_000 }, n)),
      [5_000, 5_000, 5_000],
    );
    assert.deepEqual(
      [1, 2, 3].map((n) => backoffDelayMs({ initialMs: 60_000, factor: 1.5, maxMs: 900_000 }, n)),
      [60_000, 90_000, 135_000],
    );
  });

  test('restart numbers start at 1', () => {
    assert.throws(() => backoffDelayMs(policy.backoff, 0), RangeError);
  });

  test('failures count up to maxRestarts, then the decision is to give up', () => {
    let budget = { restarts: 0, totalRestarts: 0 };
    const decisions = [];
    for (let i = 0; i < 6; i++) {
      const d = decideAfterFailure(policy, budget, 1_000, 2_000);
      decisions.push(d.kind === 'restart' ? d.delayMs : 'giveUp');
      budget = d.budget;
    }
    assert.deepEqual(decisions, [30_000, 60_000, 120_000, 240_000, 480_000, 'giveUp']);
    assert.deepEqual(budget, { restarts: 5, totalRestarts: 5 });
  });

  test('maxRestarts 0 never restarts', () => {
    assert.equal(
      decideAfterFailure({ ...policy, maxRestarts: 0 }, { restarts: 0, totalRestarts: 0 }, undefined, 0).kind,
      'giveUp',
    );
  });

  test('running for resetAfter resets the count and the backoff', () => {
    const exhausted = { restarts: 5, totalRestarts: 12 };
    const early = decideAfterFailure(policy, exhausted, 0, policy.resetAfterMs - 1);
    assert.equal(early.kind, 'giveUp');
    const late = decideAfterFailure(policy, exhausted, 0, policy.resetAfterMs);
    assert.deepEqual(late, { kind: 'restart', budget: { restarts: 1, totalRestarts: 13 }, delayMs: 30_000 });
  });

  test('an app that never ran (failed in its steps) earns no reset', () => {
    assert.equal(hasEarnedReset(policy, undefined, 10 * policy.resetAfterMs), false);
    assert.equal(hasEarnedReset(policy, 100, 100 + policy.resetAfterMs), true);
  });
});
