// What an operator reads: `status`'s one-line "now" (src/cli/app-status.ts), the Temporal UI's current details
// (src/workflows/ui-details.ts) and errors written out in the worker's JSON log (src/observability.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { describeNow, type ActivityNow } from '../../src/cli/app-status.js';
import { withErrorsSpelledOut } from '../../src/observability.js';
import type { AppStatus } from '../../src/workflows/types.js';
import { currentDetails } from '../../src/workflows/ui-details.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const at = (secondsFromNow: number) => new Date(NOW + secondsFromNow * 1000).toISOString();

function status(overrides: Partial<AppStatus> = {}): AppStatus {
  return {
    app: 'fraud',
    kind: 'StreamingApp',
    phase: 'Running',
    step: null,
    restarts: 0,
    totalRestarts: 0,
    yarnAppId: 'application_1_0001',
    lastHeartbeatAt: null,
    lastError: null,
    revision: 2,
    runningSince: at(-600),
    degradedSince: null,
    acceptedSince: null,
    nextRestartAt: null,
    attempts: [],
    ...overrides,
  };
}

describe('status: what is happening now', () => {
  test('a running app: nothing to say', () => {
    assert.equal(describeNow(status(), [], NOW), '-');
  });

  test('an activity being retried: which, its attempt, when next, and its failure', () => {
    const retrying: ActivityNow = {
      activity: 'findLiveApps',
      state: 'SCHEDULED',
      attempt: 4,
      lastFailure: 'edge-1: connect ECONNREFUSED 127.0.0.1:22',
      nextRetryAt: at(8),
    };
    assert.equal(
      describeNow(status({ phase: 'Starting', yarnAppId: null }), [retrying], NOW),
      'retrying findLiveApps (attempt 4; next try in 8s): edge-1: connect ECONNREFUSED 127.0.0.1:22',
    );
  });

  test('Degraded: for how long, and why; BackingOff: which restart, when, after what', () => {
    assert.equal(
      describeNow(
        status({ phase: 'Degraded', degradedSince: at(-300), lastError: 'edge node edge-1 unreachable: x' }),
        [],
        NOW,
      ),
      'edge node unreachable for 5m, nothing restarted meanwhile: edge node edge-1 unreachable: x',
    );
    assert.equal(
      describeNow(
        status({ phase: 'BackingOff', restarts: 2, nextRestartAt: at(30), lastError: 'ended KILLED' }),
        [],
        NOW,
      ),
      `restart 2 in 30s (at ${at(30)}) after: ended KILLED`,
    );
  });

  test('Starting: the step running, or YARN holding the app in ACCEPTED', () => {
    assert.equal(describeNow(status({ phase: 'Starting', step: 'build' }), [], NOW), 'running step "build"');
    assert.equal(
      describeNow(status({ phase: 'Starting', acceptedSince: at(-90) }), [], NOW),
      'YARN shows application_1_0001 ACCEPTED for 90s, not RUNNING yet',
    );
  });
});

describe('the Temporal UI: current details', () => {
  test('the YARN app as a link when YARN gave a URL, else as code; the next restart and the last error', () => {
    assert.equal(
      currentDetails(status(), { trackingUrl: 'http://rm:8088/proxy/application_1_0001/', maxRestarts: 5 }),
      '**Running** · YARN application [application_1_0001](http://rm:8088/proxy/application_1_0001/) · restarts 0/5 · revision 2',
    );
    const text = currentDetails(
      status({
        phase: 'BackingOff',
        yarnAppId: null,
        restarts: 1,
        nextRestartAt: at(30),
        lastError: 'ended\nFAILED',
      }),
      { trackingUrl: 'N/A', maxRestarts: 5 },
    );
    assert.equal(
      text,
      `**BackingOff** · YARN application none · restarts 1/5 · revision 2\n\nnext restart (1 of 5) at ${at(30)}\n\nlast error: ended FAILED`,
    );
  });
});

describe('worker log: errors written out', () => {
  test('message, failure type and the cause chain, not just the class name', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:22');
    const failure = ApplicationFailure.create({
      type: 'StepFailed',
      message: 'step "submit" failed',
      nonRetryable: true,
      cause,
    });
    const out = withErrorsSpelledOut({ error: failure, app: 'fraud' }) as {
      error: {
        name: string;
        message: string;
        type: string;
        nonRetryable: boolean;
        cause: { message: string };
      };
      app: string;
    };
    assert.equal(out.app, 'fraud');
    assert.deepEqual(
      [out.error.name, out.error.message, out.error.type, out.error.nonRetryable, out.error.cause.message],
      ['ApplicationFailure', 'step "submit" failed', 'StepFailed', true, 'connect ECONNREFUSED 127.0.0.1:22'],
    );
    assert.match(JSON.stringify(out), /ECONNREFUSED/);
  });
});
