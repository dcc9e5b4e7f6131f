// `kappa dev` with its sandbox, as the README's first command runs it: the real local YARN (its jars from the
// normal cache, built once by scripts/ensure-yarn.sh), a worker using this host as the edge node, the example
// streaming app deployed on it. The test does what the printed lines tell a user to do: it runs the printed
// `yarn application -kill` command and sees Kappa bring the app back with a new id; Ctrl-C then leaves no JVM
// and no server behind. Without a JDK, `kappa dev` says so and runs Temporal and the worker only.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { descendants } from '../../src/sandbox/local-yarn.js';
import { isServerReachable, temporalCliPath } from '../../src/temporal/dev-server.js';
import { statusQuery } from '../../src/workflows/definitions.js';
import { tempDir } from '../support/harness.js';
import { startKappaDev, type KappaDev as Dev } from '../support/kappa-dev.js';

const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');
const CACHE = process.env.KAPPA_CACHE ?? join(homedir(), '.cache', 'kappa');
const KILL_LINE = /^ {2}(\/\S+\/yarn) application -kill (application_\d+_\d+)$/gm;
const AGAIN = /is Running again as (application_\d+_\d+)/;

/** `kappa dev` in a new directory, with a worker config that opens no metrics port. */
function startDev(env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Dev> {
  const cwd = tempDir('dev-sandbox');
  // No metrics port: nothing of this test listens beyond the loopback ports it chose.
  writeFileSync(join(cwd, 'worker.yaml'), 'metrics: { port: 0 }\n');
  return startKappaDev((address, uiPort) => {
    const args = ['--address', address, '--worker-config', join(cwd, 'worker.yaml'), 'dev'];
    return spawn(process.execPath, [KAPPA, ...args, '--ui-port', String(uiPort), ...extra], {
      cwd,
      env: { ...env, TEMPORAL_CLI: temporalCliPath() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  });
}

/** Waits for `check` to find something in the output; fails at once when the sandbox or kappa dev gives up. */
async function waitForOutput<T>(
  dev: Dev,
  what: string,
  check: (output: string) => T | undefined | null,
  ms: number,
): Promise<T> {
  const deadline = Date.now() + ms;
  let exited = false;
  void dev.exited.then(() => (exited = true));
  for (;;) {
    const found = check(dev.output());
    if (found !== undefined && found !== null) return found;
    const gaveUp: boolean =
      exited || /the local YARN sandbox did not start|the example app:/.test(dev.output());
    if (gaveUp || Date.now() > deadline) {
      assert.fail(`${gaveUp ? 'kappa dev gave up' : `no ${what} in time`}:\n${said(dev)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The kappa dev lines only (the worker's JSON log lines left out), for assertion messages. */
const said = (dev: Dev) =>
  dev
    .output()
    .split('\n')
    .filter((l) => !l.startsWith('{'))
    .join('\n');

async function restApp(rmUrl: string, id: string): Promise<{ state: string; name: string }> {
  const res = await fetch(`${rmUrl}/ws/v1/cluster/apps/${id}`);
  assert.equal(res.status, 200, `the RM knows ${id}`);
  return ((await res.json()) as { app: { state: string; name: string } }).app;
}

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

function javaPids(pids: number[]): number[] {
  return pids.filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('/java') ?? false;
    } catch {
      return false;
    }
  });
}

test(
  'kappa dev: local YARN, the example app Running; the printed kill brings it back with a new id; Ctrl-C leaves nothing',
  { timeout: 20 * 60_000 },
  async () => {
    const dev = await startDev(process.env);
    const seen = new Set<number>();
    const snapshot = () => descendants(dev.child.pid ?? -1).forEach((pid) => seen.add(pid));
    try {
      const [, yarnCommand, first] = await waitForOutput(
        dev,
        'example app Running with its kill command',
        (output) => [...output.matchAll(KILL_LINE)][0],
        15 * 60_000,
      );
      assert.ok(yarnCommand && first);
      assert.equal(yarnCommand, join(CACHE, 'dev', 'local-yarn', 'bin-fast', 'yarn'));
      const rmUrl = /ResourceManager UI (http:\/\/127\.0\.0\.1:\d+)/.exec(dev.output())?.[1];
      assert.ok(rmUrl, said(dev));
      const app = await restApp(rmUrl, first);
      assert.deepEqual([app.state, app.name], ['RUNNING', 'Kappa Rate Stream']);
      assert.match(
        dev.output(),
        /kappa dev: rate-stream in the Temporal UI: http:\/\/localhost:\d+\/namespaces\/default\/workflows\/kappa%2Frate-stream/,
      );
      // RUNNING means the driver registered; its executor's JVM may start a little later.
      const jvmsBy = Date.now() + 120_000;
      do {
        snapshot();
        if (javaPids([...seen]).length >= 3) break;
        await new Promise((r) => setTimeout(r, 500));
      } while (Date.now() < jvmsBy);
      assert.ok(
        javaPids([...seen]).length >= 3,
        'the launcher, the driver and an executor JVM run under kappa dev',
      );

      // Exactly what the user is told to run.
      const kill = await promisify(execFile)(yarnCommand, ['application', '-kill', first]);
      assert.equal(kill.stdout, `Killing application ${first}\n`);

      const match = await waitForOutput(dev, 'app Running again', (output) => AGAIN.exec(output), 5 * 60_000);
      const second = match[1];
      assert.ok(second && second !== first, said(dev));
      assert.equal((await restApp(rmUrl, second)).state, 'RUNNING');
      assert.equal((await restApp(rmUrl, first)).state, 'KILLED');
      assert.ok([...dev.output().matchAll(KILL_LINE)].some((m) => m[2] === second));
      const connection = await Connection.connect({ address: dev.address });
      try {
        const status = await new Client({ connection }).workflow
          .getHandle('kappa/rate-stream')
          .query(statusQuery);
        assert.equal(status.phase, 'Running');
        assert.equal(status.yarnAppId, second);
        assert.ok(status.attempts.some((a) => a.yarnAppId === first && a.outcome === 'failed'));
      } finally {
        await connection.close();
      }
      snapshot();
    } finally {
      dev.child.kill('SIGINT');
    }
    assert.equal(await dev.exited, 0, said(dev));
    assert.deepEqual([...seen].filter(alive), [], 'processes kappa dev started are left');
    assert.equal(await isServerReachable(dev.address), false, 'the dev server stopped');
    assert.equal(existsSync(join(CACHE, 'dev', 'local-yarn')), false, "the cluster's work dir is removed");
    const table = await promisify(execFile)('ps', ['-A', '-ww', '-o', 'pid=,args=']);
    const sandboxDir = join(CACHE, 'dev', 'local-yarn');
    assert.deepEqual(
      table.stdout.split('\n').filter((l) => l.includes(sandboxDir)),
      [],
      'no process of the sandbox',
    );
  },
);

/** A PATH with everything this one has but java (and JAVA_HOME unset): a machine without a JDK. */
function pathWithoutJava(): string {
  const bin = join(tempDir('no-jdk'), 'bin');
  mkdirSync(bin);
  const taken = new Set<string>(['java', 'javac', 'jar']);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names.filter((n) => !taken.has(n))) {
      taken.add(name);
      symlinkSync(join(dir, name), join(bin, name));
    }
  }
  return bin;
}

test('kappa dev without a JDK: says so, runs Temporal and the worker only', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathWithoutJava(), KAPPA_CACHE: tempDir('cache') };
  delete env.JAVA_HOME;
  const dev = await startDev(env);
  try {
    await waitForOutput(dev, 'worker', (o) => o.includes('kappa worker: task queue kappa') || null, 120_000);
    assert.match(
      dev.output(),
      /kappa dev: no local YARN sandbox: the local YARN needs a JDK 17 or later: no java on PATH and no JAVA_HOME\. Running Temporal and the worker only\./,
    );
    assert.doesNotMatch(dev.output(), /local YARN up|starting the local YARN/);
  } finally {
    dev.child.kill('SIGINT');
  }
  assert.equal(await dev.exited, 0, said(dev));
  assert.equal(await isServerReachable(dev.address), false);
});
