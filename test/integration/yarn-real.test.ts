// The real YARN tier, on its own (no Kappa workflow yet): a real ResourceManager + NodeManager
// (src/sandbox/local-yarn.ts; jars fetched and built once per machine by scripts/ensure-yarn.sh), the real `yarn`
// CLI and spark-submit through the edge node's wrappers, a real Spark Structured Streaming app. Shows the tier
// does what the tests above it rely on: submit, list, kill, an app that fails with its diagnostics, a batch that
// succeeds, an RM outage that the fast-fail client reports and the app survives, loopback only, nothing left
// after stop. Kappa's own parsers read every output, so the real output and the parsers are held together.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { LocalYarn, descendants, type CommandResult } from '../../src/sandbox/local-yarn.js';
import {
  parseApplicationList,
  parseApplicationStatus,
  parseKillOutput,
  parseSparkSubmitAppId,
} from '../../src/yarn/parse.js';
import { changesPaths } from '../../src/yarn/live-changes.js';
import { parseRestAppList } from '../../src/yarn/parse-rest.js';
import { waitFor } from '../support/harness.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SUBMITTING = /INFO Client: Submitting application (application_\d+_\d+) to ResourceManager/;

let yarn: LocalYarn;

function show(what: string, r: CommandResult): string {
  return `${what}: exit ${r.code} after ${r.durationMs} ms\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(-3000)}`;
}

async function submit(
  name: string,
  appArgs: string[] = [],
  conf: Record<string, string> = {},
): Promise<string> {
  const r = await yarn.sparkSubmit(yarn.streamingSubmitArgs(name, appArgs, conf));
  assert.equal(r.code, 0, show('spark-submit', r));
  const id = parseSparkSubmitAppId(r.stderr);
  assert.ok(id, show('spark-submit names no app', r));
  return id;
}

async function state(appId: string): Promise<{ state: string; finalStatus: string; diagnostics: string }> {
  const app = (await yarn.apps()).find((a) => a.id === appId);
  assert.ok(app, `${appId} is not in the RM's REST answer`);
  return app;
}

/** Waits (REST, cheap) until the app's state is one of `states`. */
function reaches(appId: string, states: string[], timeoutMs: number) {
  return waitFor(
    `${appId} in ${states.join('/')}`,
    async () => {
      const app = await state(appId);
      if (states.includes(app.state)) return app;
      await sleep(1_000);
      return undefined;
    },
    timeoutMs,
  );
}

/** Listening TCP sockets of `pids` as local addresses (`127.0.0.1:PORT`), from /proc/net/tcp{,6}. */
function listeningSockets(pids: number[]): { pid: number; address: string }[] {
  const byInode = new Map<string, string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      const [local, state, inode] = [f[1], f[3], f[9]];
      if (!local || state !== '0A' || !inode) continue; // 0A: LISTEN
      byInode.set(inode, decodeAddress(local));
    }
  }
  const found: { pid: number; address: string }[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // ended meanwhile
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      const address = inode ? byInode.get(inode) : undefined;
      if (address) found.push({ pid, address });
    }
  }
  return found;
}

/** `0100007F:1F90` (IPv4, little-endian words) or a 32-hex-digit IPv6 address, as `ip:port`. */
function decodeAddress(hex: string): string {
  const [ip = '', port = ''] = hex.split(':');
  const words = ip.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  let text: string;
  if (bytes.length === 4) text = bytes.join('.');
  else if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    text = `::ffff:${bytes.slice(12).join('.')}`;
  else text = `[${words.join(':')}]`;
  return `${text}:${parseInt(port, 16)}`;
}

const isLoopback = (address: string) => /^(::ffff:)?127\.0\.0\.1:\d+$/.test(address);

/** The java processes among `pids` other than the launcher: the YARN containers' JVMs. */
function containerJvms(): number[] {
  const launcher = yarn.pid;
  return yarn.pids().filter((pid) => {
    if (pid === launcher) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/java') ?? false;
    } catch {
      return false;
    }
  });
}

describe('real YARN tier (Hadoop 3.4.1 MiniYARNCluster, Spark 4.0.1)', () => {
  let streaming = ''; // lives from the first test to the last: the outage and stop() act on it
  let killable = ''; // submitted with it, killed by hand

  // A cold fetch and build takes a few minutes, once per machine (scripts/test.sh does it before the tests).
  before(
    async () => {
      // Room for three small apps at once (each a 1024 MB AM + a 1024 MB executor container): the streaming
      // app stays up while the failing and the batch app run side by side.
      yarn = new LocalYarn({ nodeManagerMemoryMb: 6144 });
      await yarn.start();
    },
    { timeout: 30 * 60_000 },
  );
  after(() => yarn?.stop());

  test('spark-submit in cluster mode exits 0 once ACCEPTED, nothing on stdout, the app id on stderr', async () => {
    const r = await yarn.sparkSubmit(yarn.streamingSubmitArgs('Kappa Real Stream'));
    assert.equal(r.code, 0, show('spark-submit', r));
    assert.equal(r.stdout, '', 'spark-submit prints nothing on stdout');
    const id = SUBMITTING.exec(r.stderr)?.[1];
    assert.ok(id, show('no "Submitting application … to ResourceManager"', r));
    assert.equal(parseSparkSubmitAppId(r.stderr), id);
    assert.match(r.stderr, new RegExp(`Application report for ${id} \\(state: ACCEPTED\\)`));
    // The Spark jars are not uploaded per submit (spark.yarn.jars=local:…): only the app jar and the conf.
    assert.doesNotMatch(r.stderr, /Neither spark\.yarn\.jars nor spark\.yarn\.archive|__spark_libs__/);
    streaming = id;
    // The app to kill starts now, so its start-up overlaps the checks below.
    killable = await submit('Kappa Real Kill');
  });

  test('yarn application -list shows it, ACCEPTED then RUNNING, in the format the parser reads', async () => {
    const seen: string[] = [];
    let last: CommandResult | undefined;
    await waitFor(
      `${streaming} RUNNING in yarn application -list`,
      async () => {
        last = await yarn.yarn(['application', '-list']);
        assert.equal(last.code, 0, show('yarn application -list', last));
        const row = parseApplicationList(last.stdout).find((r) => r.id === streaming);
        if (row && seen.at(-1) !== row.state) seen.push(row.state);
        if (row?.state === 'RUNNING') return row;
        await sleep(2_000); // each call is a JVM: do not keep both cores busy with them
        return undefined;
      },
      120_000,
    );
    assert.ok(last);
    assert.ok(
      ['ACCEPTED,RUNNING', 'RUNNING'].includes(seen.join(',')),
      `states went forward only: ${seen.join(' -> ')}`,
    );
    assert.match(
      last.stdout,
      /^Total number of applications \(application-types: \[\], states: \[SUBMITTED, ACCEPTED, RUNNING\] and tags: \[\]\):2\n/,
    );
    const row = parseApplicationList(last.stdout).find((r) => r.id === streaming);
    assert.deepEqual(
      row && { name: row.name, type: row.type, queue: row.queue, finalStatus: row.finalStatus },
      { name: 'Kappa Real Stream', type: 'SPARK', queue: 'root.default', finalStatus: 'UNDEFINED' },
    );
    assert.match(
      last.stderr,
      /INFO client\.DefaultNoHARMFailoverProxyProvider: Connecting to ResourceManager at \/127\.0\.0\.1:\d+/,
    );

    const status = await yarn.yarn(['application', '-status', streaming]);
    assert.equal(status.code, 0, show('-status', status));
    assert.match(status.stdout, /^Application Report : \n\tApplication-Id : application_/);
    const report = parseApplicationStatus(status.stdout);
    assert.deepEqual(
      report && [report.id, report.name, report.state, report.finalStatus, report.diagnostics],
      [streaming, 'Kappa Real Stream', 'RUNNING', 'UNDEFINED', undefined],
    );
  });

  test('every listening socket of the launcher and the Spark JVMs is on 127.0.0.1', async () => {
    const launcher = yarn.pid;
    assert.ok(launcher);
    // Both apps' AM (driver) and executor JVMs, each once it listens (the executor's block manager opens its
    // port some seconds after the JVM starts).
    const jvms = await waitFor(
      'four Spark JVMs listening',
      async () => {
        const found = containerJvms();
        const listening = listeningSockets(found);
        if (found.length >= 4 && found.every((pid) => listening.some((s) => s.pid === pid))) return found;
        await sleep(1_000);
        return undefined;
      },
      120_000,
    );
    const sockets = listeningSockets(yarn.pids());
    const outside = sockets.filter((s) => !isLoopback(s.address));
    assert.deepEqual(outside, [], `sockets off loopback: ${JSON.stringify(outside)}`);
    const rmPort = Number(yarn.rmAddress.split(':')[1]);
    const ports = sockets.map((s) => Number(s.address.split(':').at(-1)));
    assert.ok(ports.includes(rmPort), `the RM's port ${rmPort} is among ${ports.join(', ')}`);
    // The RM (5 ports) and the NodeManager (2 or more) in the launcher, and the Spark JVMs.
    assert.ok(sockets.filter((s) => s.pid === launcher).length >= 7, JSON.stringify(sockets));
    assert.ok(jvms.every((pid) => sockets.some((s) => s.pid === pid)));
  });

  test('yarn application -kill ends a running app: -status says KILLED, a second -kill says already finished', async () => {
    const id = killable;
    await reaches(id, ['RUNNING'], 120_000);
    const kill = await yarn.kill(id);
    assert.equal(kill.code, 0, show('-kill', kill));
    assert.equal(kill.stdout, `Killing application ${id}\n`);
    assert.match(kill.stderr, new RegExp(`INFO impl\\.YarnClientImpl: Killed application ${id}`));
    assert.equal(parseKillOutput(kill.stdout), 'killed');

    const status = await yarn.yarn(['application', '-status', id]);
    assert.equal(status.code, 0, show('-status', status));
    const report = parseApplicationStatus(status.stdout);
    assert.equal(report?.state, 'KILLED');
    assert.equal(report?.finalStatus, 'KILLED');
    assert.match(
      report?.diagnostics ?? '',
      new RegExp(`Application ${id} was killed by user \\S+ at 127\\.0\\.0\\.1`),
    );

    const again = await yarn.kill(id);
    assert.equal(again.code, 0, show('second -kill', again));
    assert.equal(again.stdout, `Application ${id} has already finished \n`);
    assert.equal(parseKillOutput(again.stdout), 'alreadyFinished');

    const unknown = id.replace(/_\d+$/, '_9999');
    const missing = await yarn.yarn(['application', '-status', unknown]);
    assert.equal(missing.code, 255, show('-status of an unknown id', missing));
    assert.equal(
      missing.stdout,
      `Application with id '${unknown}' doesn't exist in RM or Timeline Server.\n`,
    );
  });

  test("a REST host's poll for changes, on the real RM: the killed app by its finish time, live apps by their start time", async () => {
    const ask = async (path: string) => {
      const res = await fetch(`${yarn.webUrl}${path}`, { headers: { Accept: 'application/json' } });
      assert.equal(res.status, 200, path);
      return parseRestAppList(await res.text());
    };
    const now = Date.now();
    const [waiting, startedSince, finishedSince] = await Promise.all(
      changesPaths(now - 10 * 60_000).map(ask),
    );
    assert.deepEqual(waiting, [], 'nothing waits in SUBMITTED/ACCEPTED now');
    assert.ok(
      startedSince!.some((a) => a.id === streaming && a.state === 'RUNNING'),
      'the streaming app, live',
    );
    assert.ok(
      startedSince!.every((a) => a.id !== killable),
      'the killed one is not live',
    );
    assert.deepEqual(
      finishedSince!.filter((a) => a.id === killable).map((a) => [a.state, a.finalStatus]),
      [['KILLED', 'KILLED']],
    );
    assert.ok(
      finishedSince!.every((a) => a.id !== streaming),
      'a live app has no finish time',
    );
    // Asked from later on: the same apps are left out, by the RM's own clock (this machine's).
    const [, startedLater, finishedLater] = await Promise.all(changesPaths(now + 60_000).map(ask));
    assert.deepEqual([startedLater, finishedLater], [[], []]);
  });

  test('an app that throws ends FAILED with its exception in the diagnostics; a batch that ends is SUCCEEDED', async () => {
    const [failing, batch] = await Promise.all([
      // One attempt: YARN would otherwise run the failing app a second time before calling it FAILED.
      submit('Kappa Real Fail', ['--seconds', '5', '--fail'], { 'spark.yarn.maxAppAttempts': '1' }),
      submit('Kappa Real Batch', ['--batch', '--seconds', '3']),
    ]);
    const ended = ['FINISHED', 'FAILED', 'KILLED'];
    const [failed, done] = await Promise.all([
      reaches(failing, ended, 180_000),
      reaches(batch, ended, 180_000),
    ]);
    assert.equal(failed.finalStatus, 'FAILED', JSON.stringify(failed));
    assert.match(
      failed.diagnostics,
      /User class threw exception: java\.lang\.IllegalStateException: RateApp: deliberate failure after \d+ s/,
    );
    const status = await yarn.yarn(['application', '-status', failing]);
    assert.equal(status.code, 0, show('-status', status));
    assert.match(status.stdout, /\tFinal-State : FAILED\n/);
    assert.match(parseApplicationStatus(status.stdout)?.diagnostics ?? '', /RateApp: deliberate failure/);
    assert.deepEqual([done.state, done.finalStatus], ['FINISHED', 'SUCCEEDED'], JSON.stringify(done));
  });

  test('RM down: the fast-fail yarn exits 1 with the ConnectException, the default one still waits; RM back: the app is still there', async () => {
    assert.equal((await state(streaming)).state, 'RUNNING');
    await yarn.stopResourceManager();
    const [fast, slow] = await Promise.all([
      yarn.yarn(['application', '-list'], { variant: 'fast' }),
      yarn.yarn(['application', '-list'], { variant: 'default', timeoutMs: 20_000 }),
    ]);
    assert.equal(fast.code, 1, show('fast-fail -list with the RM down', fast));
    assert.ok(fast.durationMs < 20_000, `the fast-fail client gave up after ${fast.durationMs} ms`);
    assert.equal(fast.stdout, '');
    assert.match(
      fast.stderr,
      /^Exception in thread "main" java\.net\.ConnectException: Call From \S+ to \S+ failed on connection exception/m,
    );
    assert.match(fast.stderr, /INFO retry\.RetryInvocationHandler: java\.net\.ConnectException/);
    // Hadoop's default client retries for 15 minutes: still at it when cut off after 20 s.
    assert.ok(slow.timedOut, show('default -list with the RM down', slow));
    assert.equal(slow.stdout, '');

    await yarn.startResourceManager();
    const row = await waitFor(
      `${streaming} listed after the RM restart`,
      async () => {
        const list = await yarn.yarn(['application', '-list']);
        const found =
          list.code === 0 ? parseApplicationList(list.stdout).find((r) => r.id === streaming) : undefined;
        if (found) return found;
        await sleep(2_000);
        return undefined;
      },
      60_000,
    );
    assert.ok(['ACCEPTED', 'RUNNING'].includes(row.state), `recovered as ${row.state}`);
    // The AM re-registers with the new RM: the same application, RUNNING again.
    await reaches(streaming, ['RUNNING'], 120_000);
  });

  test('stop() ends the launcher and every Spark JVM it started', async () => {
    assert.equal((await state(streaming)).state, 'RUNNING');
    const launcher = yarn.pid;
    assert.ok(launcher);
    const jvms = containerJvms();
    assert.ok(jvms.length >= 2, `the streaming app's AM and executor run: ${jvms.join(', ')}`);
    const workDir = yarn.workDir;
    await yarn.stop();
    const alive = (pid: number) =>
      existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
    assert.deepEqual([launcher, ...jvms].filter(alive), [], 'processes left after stop()');
    assert.deepEqual(descendants(launcher), []);
    assert.equal(existsSync(workDir), false, 'the work dir is removed');
  });
});
