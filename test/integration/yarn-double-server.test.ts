// The yarn double's server mode (yarn-double-server.cjs, for the benchmark) against the per-process double, both
// called through a real OpenSSH sshd on loopback: the same calls on equal state give the same stdout, stderr and
// exit code (log stamps, times and random names masked); calls that would wait are refused; a server that is down
// makes the wrapper fail loudly.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { shellJoin } from '../../src/common/shell-quote.js';
import { HostCommandRunner, type CommandResult } from '../../src/ssh/command-runner.js';
import { SshPool } from '../../src/ssh/ssh-pool.js';
import { tempDir } from '../support/harness.js';
import { Sshd } from '../support/sshd.js';
import { YarnDouble } from '../support/yarn-double.js';

const sshd = new Sshd();
let pool: SshPool;
let runner: HostCommandRunner;
let perProcess: YarnDouble;
let server: YarnDouble;

before(async () => {
  await sshd.start();
  perProcess = new YarnDouble(tempDir('double-process'));
  server = new YarnDouble(tempDir('double-server'), { server: true });
  await server.start();
  pool = new SshPool({ 'edge-1': await sshd.hostConfig(perProcess.yarn) });
  runner = new HostCommandRunner(pool);
});

after(async () => {
  pool?.close();
  await server?.stop();
  await sshd.stop();
});

type Tool = 'yarn' | 'spark-submit';
/** Env changes for one call: a value sets the variable, null unsets it. */
type Env = Record<string, string | null>;

const CONF = { HADOOP_CONF_DIR: '/etc/hadoop/conf' };
const NO_CONF = { HADOOP_CONF_DIR: null, YARN_CONF_DIR: null };

function run(double: YarnDouble, tool: Tool, args: string[], env: Env = {}): Promise<CommandResult> {
  const changes = Object.entries(env).flatMap(([k, v]) => (v === null ? ['-u', k] : [`${k}=${v}`]));
  const command = shellJoin(['env', ...changes, tool === 'yarn' ? double.yarn : double.sparkSubmit, ...args]);
  return runner.run('edge-1', command, { timeoutMs: 30_000 });
}

/** What differs between two runs of one call: log stamps, times, Spark's random temp and zip names. */
function masked(text: string): string {
  return text
    .replace(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} /gm, '<stamp> ')
    .replace(/^\d\d\/\d\d\/\d\d \d\d:\d\d:\d\d /gm, '<stamp> ')
    .replace(/spark-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}/g, 'spark-<uuid>')
    .replace(/(__spark_(?:libs|conf)__)\d+/g, '$1<digits>')
    .replace(/(Start-Time : |Finish-Time : |start time: )\d+/g, '$1<ms>');
}

/** The call against both doubles at once; asserts the same answer and returns the server's (unmasked). */
async function same(tool: Tool, args: string[], env: Env = {}): Promise<CommandResult> {
  const [byProcess, byServer] = await Promise.all([
    run(perProcess, tool, args, env),
    run(server, tool, args, env),
  ]);
  const what = `${tool} ${args.join(' ')}`;
  assert.equal(byServer.code, byProcess.code, `${what}: exit code; server stderr: ${byServer.stderr}`);
  assert.equal(masked(byServer.stdout), masked(byProcess.stdout), `${what}: stdout`);
  assert.equal(masked(byServer.stderr), masked(byProcess.stderr), `${what}: stderr`);
  return byServer;
}

const both = () => [perProcess, server];
const lastArgs = (double: YarnDouble) => double.calls().at(-1)?.args;

describe('yarn double: server mode answers as the per-process double', () => {
  test('yarn application -list, -status, -kill and yarn logs', async () => {
    for (const double of both()) {
      double.addRunning('seed-a');
      double.killFromOutside(double.addRunning('seed-b'));
    }
    const [a, b] = server.apps().map((app) => app.id);
    assert.ok(a && b);
    // Calls that change nothing, at once.
    const unknown = 'application_1700000000000_9999';
    const [list, all, bogus, status, missing, logs, noLogs, usage, other] = await Promise.all([
      same('yarn', ['application', '-list']),
      same('yarn', ['application', '-list', '-appStates', 'ALL']),
      same('yarn', ['application', '-list', '-appStates', 'BOGUS']),
      same('yarn', ['application', '-status', a]),
      same('yarn', ['application', '-status', unknown]),
      same('yarn', ['logs', '-applicationId', a]),
      same('yarn', ['logs', '-applicationId', 'application_1_1']),
      same('yarn', ['application', '-movetoqueue']),
      same('yarn', ['node', '-list']),
    ]);
    assert.equal(list.code, 0);
    assert.match(list.stdout, /seed-a/);
    assert.doesNotMatch(list.stdout, /seed-b/);
    assert.match(all.stdout, /seed-b/);
    assert.match(status.stdout, /State : RUNNING/);
    assert.deepEqual(
      [bogus, missing, logs, noLogs, usage, other].map((r) => r.code),
      [255, 255, 255, 255, 255, 1],
    );
    assert.match((await same('yarn', ['application', '-kill', a])).stdout, /Killing application/);
    assert.match((await same('yarn', ['application', '-kill', a])).stdout, /already finished/);
    assert.equal((await same('yarn', ['application', '-kill', unknown])).code, 255);
    for (const double of both()) double.setRmDown(true, 'down'); // answers at once: served
    try {
      assert.equal((await same('yarn', ['application', '-list'])).code, 255);
    } finally {
      for (const double of both()) double.setRmDown(false);
    }
  });

  test('spark-submit with waitAppCompletion=false: the app is submitted and listed', async () => {
    const submit = [
      ...['--master', 'yarn', '--deploy-mode', 'cluster', '--name', 'Server app', '--driver-memory', '2g'],
      ...[
        '--conf',
        'spark.yarn.submit.waitAppCompletion=false',
        '--class',
        'com.example.Main',
        '/apps/app.jar',
      ],
    ];
    const submitted = await same('spark-submit', submit, { ...CONF, USER: 'alice' });
    assert.equal(submitted.code, 0, submitted.stderr);
    assert.match(submitted.stderr, /Submitted application application_\d+_0003/);
    assert.match(submitted.stderr, /Changing view acls to: alice/);
    await new Promise((r) => setTimeout(r, 400)); // ACCEPTED -> RUNNING in both
    const list = await same('yarn', ['application', '-list']);
    assert.match(list.stdout, /Server app\t.* RUNNING\t/);
    assert.equal(server.live('Server app').length, 1);
    const [app] = server.live('Server app');
    await same('yarn', ['application', '-status', app!.id], { USER: null });
    assert.equal(server.submits('Server app').length, 1);

    const noConf = await same('spark-submit', submit, NO_CONF);
    assert.equal(noConf.code, 1);
    assert.match(noConf.stderr, /either HADOOP_CONF_DIR or YARN_CONF_DIR must be set/);
    assert.equal((await same('spark-submit', submit, { ...NO_CONF, YARN_CONF_DIR: '/etc/hadoop' })).code, 0);
  });

  test('arguments reach the double intact: spaces, quotes, newlines, $, empty strings', async () => {
    const id = `it's "quoted" $HOME \`id\` *\n\n`;
    const args = ['application', '-status', id, 'a b', '', 'new\nline', '%41+&=x', 'ü', '-', '\\n'];
    const answer = await same('yarn', args);
    assert.equal(answer.code, 255);
    assert.equal(answer.stdout, `Application with id '${id}' doesn't exist in RM or Timeline Server.\n`);
    for (const double of both()) assert.deepEqual(lastArgs(double), args);
  });

  test('calls that would wait are refused, exit 2, before they change anything', async () => {
    const waiting = ['--master', 'yarn', '--name', 'Waits', '/apps/app.jar'];
    const refused = await run(server, 'spark-submit', waiting, CONF);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /waitAppCompletion=false .*server mode does not support/);
    assert.equal(refused.stdout, '');
    assert.deepEqual(server.submits('Waits'), []);
    assert.deepEqual(server.live('Waits'), []);
    server.setRmDown(true, 'hang');
    try {
      const hang = await run(server, 'yarn', ['application', '-list']);
      assert.equal(hang.code, 2);
      assert.match(hang.stderr, /rm-hang marker.*does not support/);
    } finally {
      server.setRmDown(false);
    }
  });

  test('the server down: the wrapper exits 2 with a message', async () => {
    await server.stop();
    const down = await run(server, 'yarn', ['application', '-list']);
    assert.equal(down.code, 2);
    assert.equal(down.stdout, '');
    assert.match(down.stderr, /yarn double: no answer from the server at .*double\.sock/);
    await server.start();
    assert.equal((await run(server, 'yarn', ['application', '-list'])).code, 0);
  });
});
