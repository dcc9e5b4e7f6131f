// What `status` says is true now. `Running` means YARN says RUNNING: an app that YARN shows ACCEPTED (a full queue,
// an ApplicationMaster not started yet) is `Starting` with `acceptedSince`, and one that stays ACCEPTED past
// `acceptedTimeout` is killed and the restart policy decides. A run that failed still names its YARN application.
// A real Temporal dev server and the fake cluster (yarn-model.cjs, with a full queue).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import {
  appHandle,
  queryStatus,
  startTestbed,
  testApp,
  waitForStatus,
  type Testbed,
} from '../support/harness.js';

let bed: Testbed;
before(async () => {
  bed = await startTestbed();
});
after(() => bed?.close());

async function stop(app: string) {
  await appHandle(bed.client, app).signal(stopSignal, {});
  await appHandle(bed.client, app).result();
}

describe('ACCEPTED is not running', () => {
  test('a full queue keeps the app Starting, with its id and acceptedSince; Running once YARN says RUNNING', async () => {
    bed.cluster.setQueueFull(true);
    try {
      await deployApp(bed.client, TASK_QUEUE, testApp('queued'));
      const waiting = await waitForStatus(
        bed.client,
        'queued',
        'found, ACCEPTED',
        (s) => s.yarnAppId !== null,
      );
      assert.equal(waiting.phase, 'Starting');
      assert.ok(waiting.acceptedSince, 'acceptedSince is set');
      assert.equal(waiting.runningSince, null);
      // Several polls later it is still not Running.
      await new Promise((r) => setTimeout(r, 1_500));
      const still = await queryStatus(bed.client, 'queued');
      assert.deepEqual([still.phase, still.yarnAppId], ['Starting', waiting.yarnAppId]);
      bed.cluster.setQueueFull(false);
      const running = await waitForStatus(bed.client, 'queued', 'Running', (s) => s.phase === 'Running');
      assert.deepEqual(
        [running.yarnAppId, running.acceptedSince, running.restarts],
        [waiting.yarnAppId, null, 0],
      );
      assert.ok(running.runningSince);
      await stop('queued');
    } finally {
      bed.cluster.setQueueFull(false);
    }
  });

  test('ACCEPTED past acceptedTimeout: that app is killed, the attempt fails with AppNotRunning, the policy restarts', async () => {
    bed.cluster.setQueueFull(true);
    try {
      await deployApp(
        bed.client,
        TASK_QUEUE,
        testApp('stuck', { yarn: { acceptedTimeout: '2s' }, restartPolicy: { maxRestarts: 1 } }),
      );
      const first = await waitForStatus(bed.client, 'stuck', 'found, ACCEPTED', (s) => s.yarnAppId !== null);
      const backingOff = await waitForStatus(
        bed.client,
        'stuck',
        'the first attempt given up',
        (s) => s.restarts === 1,
        20_000,
      );
      assert.match(
        backingOff.attempts[0]?.error ?? '',
        new RegExp(`YARN application ${first.yarnAppId} stayed ACCEPTED for 2s without running`),
      );
      assert.equal(
        bed.cluster.apps().find((a) => a.id === first.yarnAppId)?.state,
        'KILLED',
        'killed, not left queued',
      );
      bed.cluster.setQueueFull(false);
      const running = await waitForStatus(
        bed.client,
        'stuck',
        'Running again',
        (s) => s.phase === 'Running',
        20_000,
      );
      assert.notEqual(running.yarnAppId, first.yarnAppId);
      assert.equal(bed.cluster.live('App-stuck').length, 1, 'one live instance');
      await stop('stuck');
    } finally {
      bed.cluster.setQueueFull(false);
    }
  });

  test('a BatchJob run that failed still names its YARN application, as `kappa run --json` prints it', async () => {
    await deployApp(
      bed.client,
      TASK_QUEUE,
      testApp('failed-run', { kind: 'BatchJob', restartPolicy: { maxRestarts: 0 } }),
    );
    const running = await waitForStatus(bed.client, 'failed-run', 'Running', (s) => s.phase === 'Running');
    bed.cluster.killFromOutside(running.yarnAppId!, 'FINISHED', 'FAILED', 'User class threw exception: boom');
    const failed = await waitForStatus(bed.client, 'failed-run', 'Failed', (s) => s.phase === 'Failed');
    assert.equal(failed.yarnAppId, running.yarnAppId);
    assert.match(
      failed.lastError ?? '',
      new RegExp(`${running.yarnAppId} ended FINISHED/FAILED: User class threw`),
    );
    assert.equal(failed.runningSince, null);
  });
});
