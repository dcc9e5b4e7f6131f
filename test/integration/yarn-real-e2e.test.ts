// Kappa end to end on the real YARN tier (issue #11 item 1): `kappa worker` processes supervise real Spark apps
// (RateApp, spark-submitted over SSH in cluster mode) on a real ResourceManager + NodeManager, through the real
// `yarn` CLI on an sshd edge node (test/support/real-yarn-bed.ts). Every scenario is judged twice: by Kappa's
// `status` and by what YARN itself says (the RM's REST API). The deploys run side by side; what acts on the whole
// cluster (a worker SIGKILL, a ResourceManager outage) then runs on the two streaming apps left running, one
// supervised with the fast-fail yarn client, one with the default client, which `kappa stop` ends last.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { DeployReport } from '../../src/cli/commands/deploy.js';
import { TERMINAL_PHASES } from '../../src/common/phases.js';
import { parseSparkSubmitAppId } from '../../src/yarn/parse.js';
import type { AppStatus } from '../../src/workflows/definitions.js';
import { appHandle, queryStatus, waitFor, waitForStatus } from '../support/harness.js';
import { RealYarnBed, sampleWhile, type KappaWorker } from '../support/real-yarn-bed.js';

const bed = new RealYarnBed();
let worker: KappaWorker;
/** Deployed with `kappa deploy --wait`, supervised on edge-1 (the fast-fail yarn client). */
const STREAM = 'stream';
/** Submitted by hand, then adopted; supervised on edge-1-default (the default client, cut off at 10 s). */
const ADOPTED = 'adopted';
const STREAMS = [STREAM, ADOPTED];

before(
  async () => {
    await bed.start();
    worker = await bed.startWorker();
  },
  { timeout: 30 * 60_000 },
);
// Stops YARN (and every Spark JVM it started) whatever happened above.
after(() => bed.stop(), { timeout: 120_000 });

const status = (app: string) => queryStatus(bed.client, app);
const statuses = () => Promise.all(STREAMS.map(status));
const phase = (app: string, what: string, predicate: (s: AppStatus) => boolean, timeoutMs = 240_000) =>
  waitForStatus(bed.client, app, `${app} ${what}`, predicate, timeoutMs);
const ended = (app: string) => phase(app, 'ended', (s) => TERMINAL_PHASES.includes(s.phase), 300_000);

/** Each app's YARN application ids (one per submit), for "nothing was submitted again". */
const submits = (apps: string[]) =>
  Promise.all(apps.map(async (app) => (await bed.submitted(app)).map((a) => a.id)));

describe('deploys (side by side)', { concurrency: true }, () => {
  test('kappa deploy --wait: Starting with the id while YARN says ACCEPTED; Running, and --wait returns, only once YARN says RUNNING', async () => {
    // Kappa's status first, then YARN's: Kappa's Running must be RUNNING in a YARN answer read after it.
    const probe = async () => {
      const s = await status(STREAM).catch(() => undefined);
      const yarn = s?.yarnAppId ? await bed.yarn.apps() : [];
      return s && { s, yarnState: yarn.find((a) => a.id === s.yarnAppId)?.state };
    };
    const { result, samples } = await sampleWhile(probe, async () => {
      const deploy = await bed.kappa(['deploy', bed.appFile(STREAM), '--wait', '--json']);
      return { deploy, atReturn: await bed.yarn.apps() };
    });
    const { deploy, atReturn } = result;
    assert.equal(deploy.code, 0, `${deploy.stdout}\n${deploy.stderr}`);
    const report = JSON.parse(deploy.stdout) as DeployReport;
    assert.deepEqual([report.action, report.phase], ['started', 'Running']);
    assert.equal(atReturn.find((a) => a.id === report.yarnAppId)?.state, 'RUNNING', 'when --wait returned');
    const seen = samples.flatMap((x) => (x ? [x] : []));
    const accepted = seen.findIndex(
      (x) =>
        x.s.phase === 'Starting' &&
        x.s.yarnAppId === report.yarnAppId &&
        x.s.acceptedSince !== null &&
        x.yarnState === 'ACCEPTED',
    );
    const running = seen.findIndex((x) => x.s.phase === 'Running');
    assert.ok(
      accepted >= 0 && accepted < running,
      `Starting with ${report.yarnAppId} while ACCEPTED, then Running`,
    );
    const early = seen.filter((x) => x.s.phase === 'Running' && x.yarnState !== 'RUNNING');
    assert.deepEqual(early, [], 'Running while YARN said otherwise');
    assert.deepEqual(await submits([STREAM]), [[report.yarnAppId]]);
  });

  test('an app submitted by hand before deploy is adopted (onExisting adopt), not submitted again', async () => {
    const byHand = await bed.yarn.sparkSubmit(bed.yarn.streamingSubmitArgs(bed.yarnName(ADOPTED)));
    assert.equal(byHand.code, 0, byHand.stderr);
    const id = parseSparkSubmitAppId(byHand.stderr);
    assert.ok(id, byHand.stderr);
    await bed.deploy(ADOPTED, { host: 'edge-1-default' });
    const running = await phase(ADOPTED, 'Running', (s) => s.phase === 'Running');
    assert.equal(running.yarnAppId, id);
    assert.deepEqual(
      running.attempts.map((a) => a.outcome),
      ['adopted'],
    );
    assert.deepEqual(await submits([ADOPTED]), [[id]], 'no second submit');
    assert.equal((await bed.live(ADOPTED)).map((a) => a.state).join(), 'RUNNING');
  });

  test('BatchJobs: one that ends normally is Succeeded; one that throws is Failed with the diagnostics YARN gives', async () => {
    const batch = ['--batch', '--seconds', '5'];
    await Promise.all([
      bed.deploy('batch-ok', { kind: 'BatchJob', appArgs: batch, maxRestarts: 0 }),
      // One attempt: YARN would otherwise run the failing AM twice before calling the app FAILED.
      bed.deploy('batch-fail', {
        kind: 'BatchJob',
        appArgs: [...batch, '--fail'],
        conf: { 'spark.yarn.maxAppAttempts': '1' },
        maxRestarts: 0,
      }),
    ]);
    const [ok, failed] = await Promise.all([ended('batch-ok'), ended('batch-fail')]);
    const yarn = await bed.yarn.apps();
    const report = (s: AppStatus) => yarn.find((a) => a.id === s.yarnAppId);
    assert.equal(ok.phase, 'Succeeded', JSON.stringify(ok));
    assert.deepEqual([report(ok)?.state, report(ok)?.finalStatus], ['FINISHED', 'SUCCEEDED']);
    assert.equal(failed.phase, 'Failed', JSON.stringify(failed));
    assert.equal(report(failed)?.finalStatus, 'FAILED');
    const diagnostics =
      /User class threw exception: java\.lang\.IllegalStateException: RateApp: deliberate failure after \d+ s/;
    assert.match(report(failed)?.diagnostics ?? '', diagnostics);
    assert.match(
      failed.lastError ?? '',
      new RegExp(`YARN application ${failed.yarnAppId} ended [A-Z]+/FAILED`),
    );
    assert.match(failed.lastError ?? '', diagnostics);
  });

  test('spark-submit of a missing jar: the step failure carries java.io.FileNotFoundException, nothing reaches YARN', async () => {
    const app = 'missing-jar';
    await bed.deploy(app, { jar: join(bed.dir, 'no-such.jar'), maxRestarts: 0 });
    const failed = await ended(app);
    assert.equal(failed.phase, 'Failed');
    assert.match(failed.lastError ?? '', /step "submit" on edge-1 exited with code 1/);
    assert.match(
      failed.lastError ?? '',
      /Exception in thread "main" java\.io\.FileNotFoundException: File file:\S*\/no-such\.jar does not exist/,
    );
    assert.deepEqual(await submits([app]), [[]]);
  });
});

describe('supervision of the running streams', () => {
  test('worker SIGKILLed: a new worker process takes the supervision over, same ids, nothing submitted again', async () => {
    const before = await submits(STREAMS);
    const liveCounts = () => Promise.all(STREAMS.map(async (app) => (await bed.live(app)).length));
    const { samples: counts } = await sampleWhile(liveCounts, async () => {
      await worker.kill();
      worker = await bed.startWorker();
      for (const app of STREAMS) {
        // The dead worker's supervision times out (15 s without a heartbeat) and is retried on the new one.
        await waitFor(
          `${app}'s supervision on worker ${worker.identity}`,
          async () => {
            const { raw } = await appHandle(bed.client, app).describe();
            return raw.pendingActivities?.some(
              (a) => a.activityType?.name === 'superviseApp' && a.lastWorkerIdentity === worker.identity,
            );
          },
          120_000,
        );
      }
    });
    assert.deepEqual(
      (await statuses()).map((s) => [s.phase, s.yarnAppId, s.attempts.length]),
      before.map((ids) => ['Running', ids[0], 1]),
    );
    assert.deepEqual(await submits(STREAMS), before);
    assert.ok(
      counts.every((c) => c.every((n) => n === 1)),
      `live instances per sample: ${JSON.stringify(counts)}`,
    );
  });

  test('yarn application -kill from outside: restarted with a new id, never two live instances', async () => {
    const { yarnAppId: old } = await status(STREAM);
    assert.ok(old);
    const { result: running, samples: lives } = await sampleWhile(
      async () => (await bed.live(STREAM)).map((a) => a.id),
      async () => {
        const kill = await bed.yarn.kill(old);
        assert.equal(kill.code, 0, kill.stderr);
        return phase(STREAM, 'Running again', (s) => s.phase === 'Running' && s.yarnAppId !== old);
      },
    );
    assert.ok(
      lives.every((ids) => ids.length <= 1),
      `live per sample: ${JSON.stringify(lives)}`,
    );
    assert.deepEqual(await submits([STREAM]), [[old, running.yarnAppId]]);
    assert.equal((await bed.live(STREAM)).map((a) => a.state).join(), 'RUNNING');
    assert.equal(running.restarts, 1);
    assert.match(
      running.attempts[0]?.error ?? '',
      new RegExp(`${old} ended KILLED/KILLED: Application ${old} was killed by user`),
    );
  });

  test('ResourceManager down: Degraded with the cause (fast-fail client; default client cut off at 10 s), nothing submitted; back: Running with the same ids', async () => {
    const before = await submits(STREAMS);
    const ids = (await statuses()).map((s) => s.yarnAppId);
    const phases = async () => (await statuses()).map((s) => s.phase);
    const { result: degraded, samples: down } = await sampleWhile(phases, async () => {
      await bed.yarn.stopResourceManager();
      try {
        return await Promise.all(
          STREAMS.map((app) => phase(app, 'Degraded', (s) => s.phase === 'Degraded', 120_000)),
        );
      } finally {
        await bed.yarn.startResourceManager();
      }
    });
    const [fast, slow] = degraded;
    assert.match(
      fast?.lastError ?? '',
      /^edge node edge-1 unreachable: yarn application -list exited with 1: Exception in thread "main" java\.net\.ConnectException: Call From \S+ to \S+:\d+ failed on connection exception/,
    );
    assert.match(slow?.lastError ?? '', /^edge node edge-1-default unreachable: .*timed out after 10000 ms/);
    assert.deepEqual(
      degraded.map((s) => s.yarnAppId),
      ids,
    );
    assert.ok(
      down.flat().every((p) => p === 'Running' || p === 'Degraded'),
      `phases while the RM was down: ${JSON.stringify(down)}`,
    );

    const { samples: recovering } = await sampleWhile(phases, async () => {
      for (const [i, app] of STREAMS.entries()) {
        // Recovered ACCEPTED until its ApplicationMaster registers with the new RM.
        await bed.reaches(ids[i]!, 'RUNNING');
        const back = await phase(app, 'Running again', (s) => s.phase === 'Running');
        assert.deepEqual(
          [back.yarnAppId, back.lastError, back.attempts.length],
          [ids[i], null, before[i]!.length],
        );
      }
    });
    const seen = new Set(recovering.flat());
    assert.ok(!seen.has('BackingOff') && !seen.has('Failed'), `phases seen: ${[...seen].join(', ')}`);
    assert.deepEqual(await submits(STREAMS), before);
  });

  test('kappa stop: the YARN application ends KILLED; with --leave-running it stays RUNNING', async () => {
    const [killed, left] = (await statuses()).map((s) => s.yarnAppId);
    try {
      const [stop, leave] = await Promise.all([
        bed.kappa(['stop', STREAM]),
        bed.kappa(['stop', ADOPTED, '--leave-running']),
      ]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /^stream: stop requested\nstream: Stopped\n$/);
      assert.equal(leave.code, 0, leave.stderr);
      assert.match(leave.stdout, /leaving the YARN application running\)\nadopted: Stopped\n$/);
      const yarn = await bed.yarn.apps();
      const state = (id?: string | null) => yarn.find((a) => a.id === id)?.state;
      assert.deepEqual([state(killed), state(left)], ['KILLED', 'RUNNING']);
    } finally {
      if (left) await bed.yarn.kill(left);
    }
  });
});
