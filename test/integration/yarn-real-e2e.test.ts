// Kappa end to end on the real YARN tier (issue #11 item 1), the streaming apps Kappa keeps running:
// `kappa worker` processes supervise real Spark apps (RateApp, spark-submitted over SSH in cluster mode) on a
// real ResourceManager + NodeManager through the real `yarn` CLI on an sshd edge node
// (test/support/real-yarn-bed.ts). Three apps, deployed with `kappa deploy --wait`: one supervised with the
// fast-fail yarn client, one with the default client cut off at 10 s, one through the ResourceManager's REST API
// (`yarnApi: rest`, curl on the edge node). A worker SIGKILL and a ResourceManager outage act on all; `kappa stop`
// ends all. Every step is judged by Kappa's `status` and by what YARN itself
// says (the RM's REST API). What ends apps (kill from outside, batch jobs, a failed submit, adoption) is in
// yarn-real-e2e-endings.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DeployReport } from '../../src/cli/commands/deploy.js';
import { appHandle, waitFor } from '../support/harness.js';
import { RealYarnBed, sampleWhile, sleep, type EdgeHost } from '../support/real-yarn-bed.js';

const bed = RealYarnBed.forThisFile();
/**
 * Supervised on edge-1 (the fast-fail client), on edge-1-default (the default client, cut off at 10 s) and on
 * edge-1-rest (the REST API through curl on the edge node).
 */
const HOSTS: Record<string, EdgeHost> = {
  stream: 'edge-1',
  'stream-default': 'edge-1-default',
  'stream-rest': 'edge-1-rest',
};
const STREAMS = Object.keys(HOSTS);
const statuses = () => Promise.all(STREAMS.map((app) => bed.status(app)));

/** Kappa's status of each stream, then what YARN says of the id it names (undefined while the RM cannot say). */
async function observe() {
  const seen = await Promise.all(STREAMS.map((app) => bed.status(app).catch(() => undefined)));
  const yarn = await bed.yarn.apps().catch(() => undefined);
  return seen.flatMap((s) => (s ? [{ s, yarnState: yarn?.find((a) => a.id === s.yarnAppId)?.state }] : []));
}
type Observation = Awaited<ReturnType<typeof observe>>[number];

/** Observations of Kappa saying Running while YARN, asked after it, did not say RUNNING. */
const runningUntrue = (seen: Observation[]) =>
  seen.filter((x) => x.s.phase === 'Running' && x.yarnState !== undefined && x.yarnState !== 'RUNNING');

describe('streaming apps on the real YARN', () => {
  test('kappa deploy --wait: Starting with the id while YARN says ACCEPTED; Running, and --wait returns, only once YARN says RUNNING', async () => {
    const files = STREAMS.map((app) => bed.appFile(app, { host: HOSTS[app] }));
    const { result, samples } = await sampleWhile(observe, async () => {
      const deploy = await bed.kappa(['deploy', ...files, '--wait', '--json']);
      return { deploy, atReturn: await bed.yarn.apps() };
    });
    const { deploy, atReturn } = result;
    assert.equal(deploy.code, 0, `${deploy.stdout}\n${deploy.stderr}`);
    const reports = JSON.parse(deploy.stdout) as DeployReport[];
    assert.deepEqual(
      reports.map((r) => [r.app, r.action, r.phase]),
      STREAMS.map((app) => [app, 'started', 'Running']),
    );
    const acceptedSeen: string[] = [];
    for (const { app, yarnAppId } of reports) {
      assert.equal(atReturn.find((a) => a.id === yarnAppId)?.state, 'RUNNING', `${app} when --wait returned`);
      const seen = samples.flat().filter((x) => x.s.app === app && x.s.yarnAppId === yarnAppId);
      // Whenever Kappa knew the id: ACCEPTED in YARN is Starting with acceptedSince (or Degraded, when its yarn calls
      // time out — a loaded edge node — and Kappa cannot know), Running is RUNNING there.
      const notStarting = seen.filter(
        (x) =>
          x.yarnState === 'ACCEPTED' &&
          ((x.s.phase !== 'Starting' && x.s.phase !== 'Degraded') || x.s.acceptedSince === null),
      );
      assert.deepEqual([...notStarting, ...runningUntrue(seen)], [], `${app}: status untrue to YARN`);
      const accepted = seen.findIndex((x) => x.yarnState === 'ACCEPTED');
      const running = seen.findIndex((x) => x.s.phase === 'Running');
      if (accepted >= 0) acceptedSeen.push(app);
      assert.ok(running < 0 || accepted < running, `${app}: Starting (ACCEPTED) before Running`);
    }
    // Kappa learns the id from spark-submit, which returns once YARN has ACCEPTED the app, and asks YARN about it
    // a second or two later: on a machine busy enough, the AM registers (RUNNING) before that.
    assert.notDeepEqual(acceptedSeen, [], 'no app seen Starting with its id while YARN said ACCEPTED');
    assert.deepEqual(
      await bed.submits(STREAMS),
      reports.map((r) => [r.yarnAppId]),
    );
  });

  test('worker SIGKILLed: a new worker process takes the supervision over, same ids, nothing submitted again', async () => {
    const before = await bed.submits(STREAMS);
    const liveCounts = () => Promise.all(STREAMS.map(async (app) => (await bed.live(app)).length));
    const { samples: counts } = await sampleWhile(liveCounts, async () => {
      await bed.worker?.kill();
      const next = await bed.startWorker();
      for (const app of STREAMS) {
        // The dead worker's supervision times out (60 s without a heartbeat: 12 polls of 5 s) and is retried on the
        // new one.
        await waitFor(
          `${app}'s supervision on worker ${next.identity}`,
          async () => {
            const { raw } = await appHandle(bed.client, app).describe();
            const moved = raw.pendingActivities?.some(
              (a) => a.activityType?.name === 'superviseApp' && a.lastWorkerIdentity === next.identity,
            );
            if (!moved) await sleep(1_000);
            return moved;
          },
          120_000,
        );
      }
    });
    assert.deepEqual(
      (await statuses()).map((s) => [s.phase, s.yarnAppId, s.attempts.length]),
      before.map((ids) => ['Running', ids[0], 1]),
    );
    assert.deepEqual(await bed.submits(STREAMS), before);
    assert.ok(
      counts.every((c) => c.every((n) => n === 1)),
      `live instances per sample: ${JSON.stringify(counts)}`,
    );
  });

  test('ResourceManager down: Degraded with the cause (fast-fail client; default client cut off at 10 s; REST), nothing submitted; back: Running with the same ids', async () => {
    const before = await bed.submits(STREAMS);
    const ids = (await statuses()).map((s) => s.yarnAppId);
    const phases = async () => (await statuses()).map((s) => s.phase);
    const { result: degraded, samples: down } = await sampleWhile(phases, async () => {
      await bed.yarn.stopResourceManager();
      try {
        return await Promise.all(
          STREAMS.map((app) => bed.waitFor(app, 'Degraded', (s) => s.phase === 'Degraded', 120_000)),
        );
      } finally {
        await bed.yarn.startResourceManager();
      }
    });
    const [fast, slow, rest] = degraded;
    assert.match(
      fast?.lastError ?? '',
      /^edge node edge-1 unreachable: yarn application -list exited with 1: Exception in thread "main" java\.net\.ConnectException: Call From \S+ to \S+:\d+ failed on connection exception/,
    );
    assert.match(slow?.lastError ?? '', /^edge node edge-1-default unreachable: .*timed out after 10000 ms/);
    assert.match(
      rest?.lastError ?? '',
      /^edge node edge-1-rest unreachable: no ResourceManager answered through edge-1-rest: http:\/\/127\.0\.0\.1:\d+: curl: \(7\) Failed to connect to 127\.0\.0\.1 port \d+/,
    );
    assert.deepEqual(
      degraded.map((s) => s.yarnAppId),
      ids,
    );
    assert.ok(
      down.flat().every((p) => p === 'Running' || p === 'Degraded'),
      `phases while the RM was down: ${JSON.stringify(down)}`,
    );

    const { samples: recovering } = await sampleWhile(observe, async () => {
      for (const [i, app] of STREAMS.entries()) {
        // Recovered ACCEPTED until its ApplicationMaster registers with the new RM.
        await bed.reaches(ids[i]!, 'RUNNING');
        const back = await bed.waitFor(app, 'Running again', (s) => s.phase === 'Running');
        assert.deepEqual([back.yarnAppId, back.lastError, back.attempts.length], [ids[i], null, 1]);
      }
    });
    const seen = recovering.flat();
    const phasesSeen = new Set(seen.map((x) => x.s.phase));
    assert.ok(
      !phasesSeen.has('BackingOff') && !phasesSeen.has('Failed'),
      `phases: ${[...phasesSeen].join(', ')}`,
    );
    assert.deepEqual(
      runningUntrue(seen).map((x) => [x.s.app, x.s.phase, x.yarnState]),
      [],
      'Running while YARN said otherwise, after the RM came back',
    );
    assert.deepEqual(await bed.submits(STREAMS), before);
  });

  test('kappa stop: the YARN application ends KILLED', async () => {
    const ids = (await statuses()).map((s) => s.yarnAppId);
    const stops = await Promise.all(STREAMS.map((app) => bed.kappa(['stop', app])));
    const yarn = await bed.yarn.apps();
    for (const [i, app] of STREAMS.entries()) {
      assert.equal(stops[i]?.code, 0, stops[i]?.stderr);
      assert.equal(stops[i]?.stdout, `${app}: stop requested\n${app}: Stopped\n`);
      const killed = yarn.find((a) => a.id === ids[i]);
      assert.deepEqual([killed?.state, killed?.finalStatus], ['KILLED', 'KILLED'], app);
    }
  });
});
