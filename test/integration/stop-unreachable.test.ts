// `kappa stop` while the app's edge node does not answer (a real sshd, stopped): the stop cannot kill the YARN
// application, and the CLI says so — which application on which host, since when and the last error, until when
// the kill is tried (unreachableTimeout + 3m), how to stop without killing — rather than only "still stopping".
// Once the edge node is back the kill goes through and the app is Stopped.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { startEdgeBed, type EdgeBed } from '../support/edge-bed.js';
import * as harness from '../support/harness.js';

let bed: EdgeBed;
before(async () => (bed = await startEdgeBed()));
after(() => bed?.close());

describe('kappa stop, edge node unreachable', () => {
  test('says what it waits for, until when, and how to stop without killing; Stopped once the node is back', async () => {
    await deployApp(
      bed.client,
      TASK_QUEUE,
      bed.double.streamingApp('held', 'Stop held', { pollInterval: '1s' }),
    );
    const { yarnAppId } = await harness.waitForStatus(
      bed.client,
      'held',
      'held Running',
      (s) => s.phase === 'Running',
      60_000,
    );
    await bed.sshd.stop();
    const stopAt = Date.now();
    const stop = await bed.kappa('stop', 'held', '--timeout', '15s');
    assert.equal(stop.code, 3, stop.stderr);
    assert.match(stop.stdout, /^held: stop requested$/m);
    assert.match(
      stop.stderr,
      new RegExp(
        `^held: waiting to kill YARN application ${yarnAppId} on edge-1, which does not answer \\(since \\d\\d:\\d\\d:\\d\\d UTC; try \\d+: .*edge-1.*\\)$`,
        'm',
      ),
    );
    const until =
      /^held: the kill is tried until (\d\d:\d\d:\d\d) UTC, in 1[23]m \(spec\.yarn\.unreachableTimeout 10m \+ 3m from the first try\); then the stop fails \(phase Failed\) and the YARN application may still run$/m.exec(
        stop.stderr,
      );
    assert.ok(until, stop.stderr);
    // The kill began with the stop: its deadline is 13 minutes after it (a UTC time of day, maybe tomorrow's).
    const [h = 0, m = 0, sec = 0] = until[1]!.split(':').map(Number);
    const day = new Date(stopAt).setUTCHours(h, m, sec, 0);
    const deadline = day < stopAt ? day + 86_400_000 : day;
    const offMs = deadline - (stopAt + 13 * 60_000);
    assert.ok(offMs > -5_000 && offMs < 30_000, `deadline ${until[1]} is ${offMs} ms off`);
    assert.match(
      stop.stderr,
      /^held: to stop without killing the YARN application: kappa stop held --leave-running \(it ends this kill and leaves the app running\)$/m,
    );
    assert.match(stop.stderr, /^held: still stopping after 15s: waiting to kill YARN application /m);
    assert.equal(bed.double.live('Stop held').length, 1, 'nothing was killed: the node did not answer');

    const status = await bed.kappa('status', 'held');
    assert.match(status.stdout, /phase:\s+Stopping/);

    await bed.sshd.start();
    await harness.waitForStatus(bed.client, 'held', 'held Stopped', (s) => s.phase === 'Stopped', 90_000);
    assert.deepEqual(bed.double.live('Stop held'), [], 'the kill went through once the node answered');
    const again = await bed.kappa('stop', 'held');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /app "held" is not running/);
  });

  test('a stop held up by the kill is ended by `kappa stop --leave-running`: Stopped at once, the app left running', async () => {
    await deployApp(
      bed.client,
      TASK_QUEUE,
      bed.double.streamingApp('left', 'Stop left', { pollInterval: '1s' }),
    );
    await harness.waitForStatus(bed.client, 'left', 'left Running', (s) => s.phase === 'Running', 60_000);
    await bed.sshd.stop();
    try {
      const held = await bed.kappa('stop', 'left', '--timeout', '5s');
      assert.equal(held.code, 3, held.stderr);
      const left = await bed.kappa('stop', 'left', '--leave-running', '--timeout', '30s');
      assert.equal(left.code, 0, left.stderr);
      assert.match(left.stdout, /^left: Stopped$/m);
      const result = (await harness.appHandle(bed.client, 'left').result()) as { phase: string };
      assert.equal(result.phase, 'Stopped');
    } finally {
      await bed.sshd.start();
    }
    assert.equal(bed.double.live('Stop left').length, 1, 'left running on YARN, not killed');
  });
});
