// A worker killed with SIGKILL mid-step is replaced; the workflow carries on without re-running finished steps.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import type { DevServer } from '../../src/temporal/dev-server.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import { FakeCluster } from '../support/fake-cluster.js';
import {
  appHandle,
  connectClient,
  startServer,
  tempDir,
  testApp,
  waitFor,
  waitForStatus,
} from '../support/harness.js';

let server: DevServer;
let client: Client;
let closeClient: () => Promise<void>;
let cluster: FakeCluster;
const workers: ChildProcess[] = [];

function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, '..', 'support', 'worker-process.ts')],
    {
      env: { ...process.env, KAPPA_TEST_ADDRESS: server.address, KAPPA_TEST_CLUSTER_DIR: cluster.dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  workers.push(child);
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('worker ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited with ${code}`)));
  });
}

before(async () => {
  server = await startServer();
  cluster = new FakeCluster(tempDir('crash'));
  ({ client, close: closeClient } = await connectClient(server));
});

after(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await closeClient?.();
  await server?.stop();
});

test('SIGKILL during a step: another worker takes over and finished steps do not run again', async () => {
  const first = await startWorkerProcess();
  await deployApp(
    client,
    TASK_QUEUE,
    testApp('crash', {
      steps: [
        { name: 'prepare', script: ['sleep', '10ms'] },
        { name: 'build', script: ['block', 'crash'] },
        { name: 'submit', script: ['submit', 'App-crash'] },
      ],
    }),
  );
  await waitFor('build running on the first worker', () => cluster.stepRuns('crash', 'build').length === 1);
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  const second = await startWorkerProcess();
  cluster.release('crash');
  // The new worker notices the lost activity after its heartbeat timeout and runs it again.
  const status = await waitForStatus(
    client,
    'crash',
    'Running on the new worker',
    (s) => s.phase === 'Running',
    90_000,
  );
  const builds = cluster.stepRuns('crash', 'build');
  assert.equal(cluster.stepRuns('crash', 'prepare').length, 1, 'finished step not re-run');
  assert.equal(builds.length, 2, 'the interrupted step ran again');
  assert.notEqual(builds[0]!.pid, builds[1]!.pid);
  assert.equal(builds[1]!.pid, second.pid);
  assert.deepEqual(
    cluster.live('App-crash').map((a) => a.id),
    [status.yarnAppId],
  );
  assert.equal(status.restarts, 0, 'a worker crash is not an app failure');

  await appHandle(client, 'crash').signal(stopSignal, {});
  await appHandle(client, 'crash').result();
});

test('SIGKILL after the step submitted: the retried step adopts that app and submits nothing again', async () => {
  const first = await startWorkerProcess();
  await deployApp(
    client,
    TASK_QUEUE,
    testApp('lost-submit', {
      steps: [{ name: 'submit', script: ['submit-and-block', 'App-lost-submit', 'lost-submit'] }],
    }),
  );
  await waitFor('the app submitted by the first worker', () => cluster.live('App-lost-submit').length === 1);
  const [submitted] = cluster.live('App-lost-submit');
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));

  await startWorkerProcess();
  const status = await waitForStatus(
    client,
    'lost-submit',
    'Running after the retry',
    (s) => s.phase === 'Running',
    90_000,
  );
  assert.equal(status.yarnAppId, submitted!.id, "the lost try's app is the one supervised");
  assert.equal(status.attempts.at(-1)?.outcome, 'adopted');
  assert.equal(cluster.stepRuns('lost-submit', 'submit').length, 1, 'the step did not run again');
  assert.equal(
    cluster.events().filter((e) => e.type === 'submit' && e.app === 'App-lost-submit').length,
    1,
    'one submission in all',
  );
  assert.deepEqual(
    cluster.live('App-lost-submit').map((a) => a.id),
    [submitted!.id],
  );
  await appHandle(client, 'lost-submit').signal(stopSignal, {});
  await appHandle(client, 'lost-submit').result();
});
