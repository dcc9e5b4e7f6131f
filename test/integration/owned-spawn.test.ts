// spawnOwned (test/support/owned-spawn.ts): a process a test started dies with the test process, even when that is
// SIGKILLed and runs no after() hook. A real intermediate node process starts `sleep` through spawnOwned and is
// killed; the kernel must end the sleep.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { waitFor } from '../support/harness.js';

const alive = (pid: number) =>
  existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');

test('a child started with spawnOwned is killed when the process that started it is SIGKILLed', async () => {
  const script = [
    `const { spawnOwned } = require(${JSON.stringify(join(__dirname, '..', 'support', 'owned-spawn.ts'))});`,
    "const child = spawnOwned('sleep', ['600'], { stdio: 'ignore' });",
    'console.log(child.pid);',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const parent = spawn(process.execPath, ['--import', 'tsx', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor('the child pid', () => /^\d+\n/.test(out), 30_000);
  const pid = Number(out.trim());
  assert.ok(alive(pid), 'sleep runs while its starter lives');
  assert.deepEqual(
    readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'),
    ['sleep', '600', ''],
    'setpriv exec-ed the command',
  );
  parent.kill('SIGKILL');
  await waitFor('sleep to end with its starter', () => !alive(pid), 5_000);
});
