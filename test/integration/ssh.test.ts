// SSH, ssh steps and the yarn CLI gateway against a real OpenSSH sshd on loopback and the yarn double.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { remoteCommand } from '../../src/ssh/remote-command.js';
import { SshStepRunner } from '../../src/ssh/ssh-step-runner.js';
import { YarnUnavailableError } from '../../src/yarn/model.js';
import { shellJoin } from '../../src/common/shell-quote.js';
import {
  HostCommandRunner,
  HostUnreachableError,
  KILL_GRACE_MS,
  type CommandRunner,
} from '../../src/ssh/command-runner.js';
import { SshPool } from '../../src/ssh/ssh-pool.js';
import { YarnCli } from '../../src/yarn/yarn-cli.js';
import { Sshd } from '../support/sshd.js';
import { YarnDouble } from '../support/yarn-double.js';
import { tempDir, waitFor } from '../support/harness.js';

const sshd = new Sshd();
let pool: SshPool;
let runner: CommandRunner;
let double: YarnDouble;
let work: string;

before(async () => {
  await sshd.start();
  double = new YarnDouble(tempDir('double'));
  pool = new SshPool({ 'edge-1': await sshd.hostConfig(double.yarn) });
  runner = new HostCommandRunner(pool);
  work = tempDir('ssh-work');
});

after(async () => {
  pool?.close();
  await sshd.stop();
});

function stepContext(signal = new AbortController().signal) {
  const lines: string[] = [];
  return {
    lines,
    ctx: {
      app: 't',
      workflowId: 'kappa/t',
      runId: 'run',
      revision: 1,
      attempt: 1,
      stepName: 'submit',
      signal,
      heartbeat: () => undefined,
      handingOver: () => false,
      previousDetails: undefined,
      log: (message: string) => lines.push(message),
    },
  };
}

describe('ssh', () => {
  test('argv is quoted so the remote side gets exactly these arguments', async () => {
    const args = ['a b', "it's", '$HOME', '`id`', 'x;y', '', '*', 'new\nline'];
    const command = `for a in ${shellJoin(args)}; do printf '[%s]' "$a"; done`;
    const result = await runner.run('edge-1', command, { timeoutMs: 10_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, args.map((a) => `[${a}]`).join(''));
    assert.equal(result.stderr, '', 'the pid marker never reaches the caller');
  });

  test('thirty concurrent commands share one connection', async () => {
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        runner.run('edge-1', `echo ${i}; sleep 0.2`, { timeoutMs: 20_000 }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.stdout.trim()),
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
    assert.equal(pool.connectionCount(), 1);
  });

  for (const host of ['edge-1', 'local']) {
    test(`cancelling a command ends the remote process group (${host})`, async () => {
      const pidFile = join(work, `pid-${host}`);
      const controller = new AbortController();
      const running = runner.run(host, `sh -c 'echo $$ > ${pidFile}; sleep 300' & wait`, {
        timeoutMs: 60_000,
        signal: controller.signal,
      });
      const pid = await pidIn(pidFile);
      controller.abort(new Error('cancelled by test'));
      await assert.rejects(running, /cancelled by test/);
      await waitFor(`process ${pid} to end`, () => !isRunning(pid), 10_000);
    });
  }

  test('a dropped connection ends the remote commands: TERM at once, KILL after the grace time', async (t) => {
    const own = new SshPool({ 'edge-1': await sshd.hostConfig(double.yarn) });
    const plainFile = join(work, 'cut-plain');
    const stubbornFile = join(work, 'cut-stubborn');
    try {
      // The pids are of children in the session's process group, not of the session leader.
      const runs = [
        own.run('edge-1', `sh -c 'sleep 300 & echo $! > ${plainFile}; echo started; wait'`, {
          timeoutMs: 60_000,
        }),
        own.run('edge-1', `sh -c 'trap "" TERM; sleep 300 & echo $! > ${stubbornFile}; wait'`, {
          timeoutMs: 60_000,
        }),
      ];
      const [plain, stubborn] = [await pidIn(plainFile), await pidIn(stubbornFile)];
      const cut = Date.now();
      cutConnection(own, 'edge-1');
      for (const run of runs) await assert.rejects(run, /connection lost while the command ran/);
      await waitFor(`process ${plain} to end`, () => !isRunning(plain), 5_000);
      const termMs = Date.now() - cut;
      assert.ok(isRunning(stubborn), 'a command that ignores TERM has the grace time');
      await waitFor(`process ${stubborn} to end`, () => !isRunning(stubborn), KILL_GRACE_MS + 10_000);
      const killMs = Date.now() - cut;
      assert.ok(killMs >= KILL_GRACE_MS, `KILL after ${killMs} ms`);
      t.diagnostic(`after the cut: TERMed within ${termMs} ms, KILLed within ${killMs} ms`);
    } finally {
      own.close();
    }
  });

  for (const host of ['edge-1', 'local']) {
    test(`a worker killed with SIGKILL takes its running command with it (${host})`, async (t) => {
      const pidFile = join(work, `holder-${host}`);
      const holder = spawn(process.execPath, ['--import', 'tsx', '-e', HOLDER], {
        cwd: join(__dirname, '..', '..'),
        env: {
          ...process.env,
          KAPPA_TEST_HOSTS: JSON.stringify({ 'edge-1': await sshd.hostConfig(double.yarn) }),
          KAPPA_TEST_HOST: host,
          KAPPA_TEST_COMMAND: `sh -c 'sleep 300 & echo $! > ${pidFile}; echo started; wait'`,
        },
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      const exited = new Promise((r) => holder.once('exit', r));
      try {
        const pid = await pidIn(pidFile);
        const killed = Date.now();
        holder.kill('SIGKILL');
        await waitFor(`process ${pid} to end`, () => !isRunning(pid), 5_000);
        t.diagnostic(`ended ${Date.now() - killed} ms after the SIGKILL`);
      } finally {
        holder.kill('SIGKILL');
        await exited;
      }
    });

    test(`a command that ends by itself keeps what it left behind (${host})`, async () => {
      const result = await runner.run(host, 'nohup sleep 30 >/dev/null 2>&1 & echo $!', {
        timeoutMs: 10_000,
      });
      assert.equal(result.code, 0, result.stderr);
      const pid = result.stdout.trim();
      try {
        await new Promise((r) => setTimeout(r, 1_500)); // the watchdog acts within milliseconds
        assert.ok(isRunning(pid), 'the nohup child still runs');
      } finally {
        if (isRunning(pid)) process.kill(Number(pid), 'SIGKILL');
      }
    });

    test(`exit codes and signal deaths come through unchanged (${host})`, async () => {
      const run = (command: string) => runner.run(host, command, { timeoutMs: 10_000 });
      assert.equal((await run('exit 7')).code, 7);
      assert.equal((await run("sh -c 'exit 3'")).code, 3);
      assert.equal((await run('kill -TERM $$')).code, null, 'killed by a signal');
      assert.equal((await run('read line || echo eof')).stdout, 'eof\n', 'stdin is /dev/null');
    });
  }

  test('a command past its timeout is killed and reported', async () => {
    await assert.rejects(runner.run('edge-1', 'sleep 30', { timeoutMs: 500 }), /timed out after 500 ms/);
  });

  test('an unknown host key is refused; so is a changed one', async () => {
    const config = await sshd.hostConfig(double.yarn);
    const empty = join(work, 'known_hosts_empty');
    writeFileSync(empty, '');
    const unknown = new SshPool({ 'edge-1': { ...config, knownHostsPath: empty } });
    await assert.rejects(unknown.run('edge-1', 'true', { timeoutMs: 10_000 }), (err: Error) => {
      assert.ok(err instanceof HostUnreachableError);
      assert.match(
        err.message,
        /host \[127\.0\.0\.1\]:\d+ is not in .*known_hosts_empty; its key is ssh-ed25519 SHA256:/,
      );
      return true;
    });
    const otherKey = join(work, 'other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const changedFile = join(work, 'known_hosts_changed');
    writeFileSync(
      changedFile,
      `[127.0.0.1]:${config.port} ${readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
    );
    const changed = new SshPool({ 'edge-1': { ...config, knownHostsPath: changedFile } });
    await assert.rejects(
      changed.run('edge-1', 'true', { timeoutMs: 10_000 }),
      /HOST KEY CHANGED for \[127\.0\.0\.1\]:\d+/,
    );
  });

  test('an encrypted private key is opened with the passphrase from the environment', async () => {
    const config = await sshd.hostConfig(double.yarn);
    const key = join(work, 'encrypted_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'correct horse', '-f', key]);
    const authorized = join(sshd.dir, 'authorized_keys');
    writeFileSync(authorized, readFileSync(authorized, 'utf8') + readFileSync(`${key}.pub`, 'utf8'));
    const withKey = (env: NodeJS.ProcessEnv) =>
      new SshPool({ 'edge-1': { ...config, privateKeyPath: key } }, { env });
    const right = withKey({ KAPPA_SSH_PASSPHRASE_EDGE_1: 'correct horse' });
    try {
      assert.equal((await right.run('edge-1', 'echo in', { timeoutMs: 10_000 })).stdout, 'in\n');
    } finally {
      right.close();
    }
    await assert.rejects(
      withKey({ KAPPA_SSH_PASSPHRASE: 'wrong' }).run('edge-1', 'true', { timeoutMs: 10_000 }),
      HostUnreachableError,
    );
  });

  test('a host that accepts TCP but never speaks SSH fails within the connect timeout', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    const slow = new SshPool(
      { 'edge-1': { ...(await sshd.hostConfig(double.yarn)), port } },
      { connectTimeoutMs: 500 },
    );
    const started = Date.now();
    try {
      await assert.rejects(
        slow.run('edge-1', 'true', { timeoutMs: 10_000 }),
        /Timed out while waiting for handshake/,
      );
      assert.ok(Date.now() - started < 5_000);
    } finally {
      silent.close();
    }
  });

  test('hashed known_hosts entries are accepted', async () => {
    const config = await sshd.hostConfig(double.yarn);
    const hashed = join(work, 'known_hosts_hashed');
    copyFileSync(sshd.knownHosts, hashed);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', hashed]);
    assert.match(readFileSync(hashed, 'utf8'), /^\|1\|/);
    const hashedPool = new SshPool({ 'edge-1': { ...config, knownHostsPath: hashed } });
    try {
      assert.equal((await hashedPool.run('edge-1', 'echo ok', { timeoutMs: 10_000 })).stdout, 'ok\n');
    } finally {
      hashedPool.close();
    }
  });
});

describe('ssh step', () => {
  test('spark-submit over ssh: the application id comes from its output', async () => {
    const step = double.submitStep('Step App');
    const { ctx, lines } = stepContext();
    const result = await new SshStepRunner(runner).run(step, ctx);
    assert.match(result.yarnAppId ?? '', /^application_1700000000000_\d{4}$/);
    assert.deepEqual(
      double.live('Step App').map((a) => a.id),
      [result.yarnAppId],
    );
    assert.ok(
      lines.some((l) => l.includes(`Submitting application ${result.yarnAppId} to ResourceManager`)),
      'output streamed to the log',
    );
    assert.match(result.outputTail, /Application report for application_\d+_\d+ \(state: ACCEPTED\)/);
    assert.match(remoteCommand(step), /^env HADOOP_CONF_DIR=\/etc\/hadoop\/conf .*--name 'Step App'/);
  });

  test('a non-zero exit fails the step with that code and the output tail', async () => {
    const { ctx } = stepContext();
    await assert.rejects(
      new SshStepRunner(runner).run(
        { host: 'edge-1', script: 'echo preparing\necho broken >&2\nexit 7', timeout: '1m' },
        ctx,
      ),
      (err: Error & { type?: string; details?: unknown[] }) => {
        assert.equal(err.type, 'StepFailed');
        assert.match(
          err.message,
          /step "submit" on edge-1 exited with code 7; output ends:\n(preparing\nbroken|broken\npreparing)/,
        );
        assert.equal((err.details?.[0] as { exitCode: number }).exitCode, 7);
        return true;
      },
    );
    // spark-submit without HADOOP_CONF_DIR fails the way the real one does
    await assert.rejects(
      new SshStepRunner(runner).run(
        { host: 'edge-1', command: [double.sparkSubmit, '--master', 'yarn', 'app.jar'], timeout: '1m' },
        ctx,
      ),
      /exited with code 1; output ends:\n.*either HADOOP_CONF_DIR or YARN_CONF_DIR must be set/,
    );
  });
});

describe('yarn gateway', () => {
  test('list, status and kill through the real CLI formats', async () => {
    const yarn = new YarnCli(runner, { yarnCommands: { 'edge-1': double.yarn } });
    const id = double.addRunning('Gateway App');
    const live = await yarn.listLive('edge-1');
    assert.ok(live.some((a) => a.id === id && a.name === 'Gateway App' && a.state === 'RUNNING'));
    assert.equal((await yarn.status('edge-1', id))?.state, 'RUNNING');
    await yarn.kill('edge-1', id);
    const report = await yarn.status('edge-1', id);
    assert.deepEqual(
      [report?.state, report?.finalStatus, report?.diagnostics],
      ['KILLED', 'KILLED', 'Application killed by user.'],
    );
    await yarn.kill('edge-1', id); // already finished: not an error
    assert.equal(await yarn.status('edge-1', 'application_1700000000000_9999'), undefined);
    await yarn.kill('edge-1', 'application_1700000000000_9999'); // unknown: nothing to kill
  });

  test('a ResourceManager that cannot be reached is YarnUnavailableError, not an empty list', async () => {
    const yarn = new YarnCli(runner, { yarnCommands: { 'edge-1': double.yarn } });
    double.setRmDown(true);
    try {
      await assert.rejects(
        yarn.listLive('edge-1'),
        (err: Error) =>
          err instanceof YarnUnavailableError && /exited with 255: .*ConnectException/.test(err.message),
      );
    } finally {
      double.setRmDown(false);
    }
  });

  test('callers within the poll interval share one yarn -list', async () => {
    const yarn = new YarnCli(runner, { yarnCommands: { 'edge-1': double.yarn } });
    const before = double.listCalls().length;
    await Promise.all(Array.from({ length: 50 }, () => yarn.listLive('edge-1', 5_000)));
    await yarn.listLive('edge-1', 5_000);
    assert.equal(double.listCalls().length - before, 1);
  });

  test('sshd down: unreachable; back up: reconnects', async () => {
    const yarn = new YarnCli(runner, { yarnCommands: { 'edge-1': double.yarn } });
    await sshd.stop();
    try {
      await assert.rejects(yarn.listLive('edge-1'), YarnUnavailableError);
    } finally {
      await sshd.start();
    }
    await waitFor(
      'reconnected',
      async () =>
        (await yarn.listLive('edge-1').then(
          () => true,
          () => false,
        )) || undefined,
      40_000,
    );
  });
});

/** A process holding a connection (or running a local command), for killing it with SIGKILL. */
const HOLDER = `
const { SshPool } = require('./src/ssh/ssh-pool.ts');
const { HostCommandRunner } = require('./src/ssh/command-runner.ts');
const runner = new HostCommandRunner(new SshPool(JSON.parse(process.env.KAPPA_TEST_HOSTS)));
runner.run(process.env.KAPPA_TEST_HOST, process.env.KAPPA_TEST_COMMAND, { timeoutMs: 600000 });
`;

function pidIn(file: string): Promise<string> {
  return waitFor(
    `a pid in ${file}`,
    () => (existsSync(file) && readFileSync(file, 'utf8').trim()) || undefined,
  );
}

/** Cuts the TCP connection to a host without an SSH disconnect, as a dead network or a killed worker does. */
function cutConnection(pool: SshPool, host: string): void {
  const hosts = (pool as unknown as { hosts: Map<string, { client?: { _sock?: Socket } }> }).hosts;
  const socket = hosts.get(host)?.client?._sock;
  assert.ok(socket, `no connection to ${host}`);
  socket.destroy();
}

/** Exists and is no zombie (an orphan's zombie lasts until init reaps it, which may take a while). */
function isRunning(pid: string): boolean {
  try {
    process.kill(Number(pid), 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return !existsSync('/proc/self/stat'); // gone just now, or no /proc to tell a zombie by
  }
}
