// Kappa end to end on the real YARN tier (issue #11 item 1), the ways an app ends: killed from outside (Kappa
// submits it again), a BatchJob's run ending well or throwing, a submit that fails, and a stop that leaves the app
// running. The bed (test/support/real-yarn-bed.ts) is real throughout: `kappa worker` processes, a ResourceManager
// + NodeManager, the `yarn` CLI and spark-submit on an sshd edge node, RateApp as the Spark workload. Each
// scenario is judged by Kappa's `status` and by what YARN itself says (the RM's REST API); they run side by side.
// The hand-submitted app and the failing BatchJob are there twice: supervised through the yarn CLI, and through the
// ResourceManager's REST API (`yarnApi: rest`: the adopted app over a forwarded connection, the batch through curl).
// The streaming apps Kappa keeps running through a worker SIGKILL and an RM outage: yarn-real-e2e.test.ts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseSparkSubmitAppId } from '../../src/yarn/parse.js';
import type { AppStatus } from '../../src/workflows/definitions.js';
import { RealYarnBed, sampleWhile, type EdgeHost } from '../support/real-yarn-bed.js';

const bed = RealYarnBed.forThisFile();

describe('apps that end, on the real YARN', { concurrency: true }, () => {
  for (const [app, host] of [
    ['adopted', 'edge-1'],
    ['adopted-rest', 'edge-1-tunnel'],
  ] as const) {
    describe(`an app submitted by hand before deploy, supervised on ${host}`, { concurrency: false }, () => {
      let byHand = '';

      test('is adopted (onExisting adopt), not submitted again', async () => {
        const submit = await bed.yarn.sparkSubmit(bed.yarn.streamingSubmitArgs(bed.yarnName(app)));
        assert.equal(submit.code, 0, submit.stderr);
        byHand = parseSparkSubmitAppId(submit.stderr) ?? '';
        assert.ok(byHand, submit.stderr);
        await bed.deploy(app, { host });
        const running = await bed.waitFor(app, 'Running', (s) => s.phase === 'Running');
        assert.equal(running.yarnAppId, byHand);
        assert.deepEqual(
          running.attempts.map((a) => a.outcome),
          ['adopted'],
        );
        assert.deepEqual(await bed.submits([app]), [[byHand]], 'no second submit');
      });

      test('yarn application -kill from outside: Kappa submits it again, a new id, never two live instances', async () => {
        const { result: running, samples: lives } = await sampleWhile(
          async () => (await bed.live(app)).map((a) => a.id),
          async () => {
            const kill = await bed.yarn.kill(byHand);
            assert.equal(kill.code, 0, kill.stderr);
            return bed.waitFor(app, 'Running again', (s) => s.phase === 'Running' && s.yarnAppId !== byHand);
          },
        );
        assert.ok(
          lives.every((ids) => ids.length <= 1),
          `live per sample: ${JSON.stringify(lives)}`,
        );
        assert.deepEqual(await bed.submits([app]), [[byHand, running.yarnAppId]]);
        assert.equal((await bed.live(app)).map((a) => a.state).join(), 'RUNNING');
        assert.equal(running.restarts, 1);
        assert.match(
          running.attempts[0]?.error ?? '',
          new RegExp(`${byHand} ended KILLED/KILLED: Application ${byHand} was killed by user`),
        );
      });

      test('kappa stop --leave-running: Stopped, the YARN application still RUNNING', async () => {
        const { yarnAppId } = await bed.status(app);
        assert.ok(yarnAppId);
        try {
          const stop = await bed.kappa(['stop', app, '--leave-running']);
          assert.equal(stop.code, 0, stop.stderr);
          assert.equal(
            stop.stdout,
            `${app}: stop requested (leaving the YARN application running)\n${app}: Stopped\n`,
          );
          assert.deepEqual(
            (await bed.live(app)).map((a) => [a.id, a.state]),
            [[yarnAppId, 'RUNNING']],
          );
        } finally {
          await bed.yarn.kill(yarnAppId);
        }
      });
    });
  }

  test('BatchJobs: one that ends normally is Succeeded; one that throws is Failed with the diagnostics YARN gives (yarn CLI and REST)', async () => {
    const batch = ['--batch', '--seconds', '5'];
    // One attempt: YARN would otherwise run the failing AM twice before calling the app FAILED.
    const failing = (host: EdgeHost) => ({
      kind: 'BatchJob' as const,
      host,
      appArgs: [...batch, '--fail'],
      conf: { 'spark.yarn.maxAppAttempts': '1' },
      maxRestarts: 0,
    });
    await Promise.all([
      bed.deploy('batch-ok', { kind: 'BatchJob', appArgs: batch, maxRestarts: 0 }),
      bed.deploy('batch-fail', failing('edge-1')),
      bed.deploy('batch-fail-rest', failing('edge-1-rest')),
    ]);
    const [ok, ...failures] = await Promise.all(
      ['batch-ok', 'batch-fail', 'batch-fail-rest'].map((app) => bed.ended(app)),
    );
    const yarn = await bed.yarn.apps();
    const report = (s: AppStatus) => yarn.find((a) => a.id === s.yarnAppId);
    assert.equal(ok?.phase, 'Succeeded', JSON.stringify(ok));
    assert.deepEqual([report(ok)?.state, report(ok)?.finalStatus], ['FINISHED', 'SUCCEEDED']);
    const diagnostics =
      /User class threw exception: java\.lang\.IllegalStateException: RateApp: deliberate failure after \d+ s/;
    for (const failed of failures) {
      assert.equal(failed.phase, 'Failed', JSON.stringify(failed));
      assert.equal(report(failed)?.finalStatus, 'FAILED');
      assert.match(report(failed)?.diagnostics ?? '', diagnostics);
      assert.match(
        failed.lastError ?? '',
        new RegExp(`YARN application ${failed.yarnAppId} ended [A-Z]+/FAILED`),
      );
      assert.match(failed.lastError ?? '', diagnostics);
    }
  });

  test('spark-submit of a missing jar: the step failure carries java.io.FileNotFoundException, nothing reaches YARN', async () => {
    const app = 'missing-jar';
    await bed.deploy(app, { jar: join(bed.dir, 'no-such.jar'), maxRestarts: 0 });
    const failed = await bed.ended(app);
    assert.equal(failed.phase, 'Failed');
    assert.match(failed.lastError ?? '', /step "submit" on edge-1 exited with code 1/);
    assert.match(
      failed.lastError ?? '',
      /Exception in thread "main" java\.io\.FileNotFoundException: File file:\S*\/no-such\.jar does not exist/,
    );
    assert.deepEqual(await bed.submits([app]), [[]]);
  });
});
