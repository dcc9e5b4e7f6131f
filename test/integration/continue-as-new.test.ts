// Continue-as-new, on a server that suggests it after 40 history events: restart state and revision survive.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import type { FakeCluster } from '../support/fake-cluster.js';
import { appHandle, testApp, waitForStatus, startTestbed, type Testbed } from '../support/harness.js';

let bed: Testbed;
let client: Client;
let cluster: FakeCluster;

before(async () => {
  bed = await startTestbed({ 'limit.historyCount.suggestContinueAsNew': 40 });
  ({ client, cluster } = bed);
});

after(() => bed?.close());

test('continue-as-new keeps restarts, revision and the supervised app', async () => {
  const policy = { maxRestarts: 10, backoff: { initial: '100ms', factor: 1, max: '100ms' } };
  const v1 = testApp('can', { restartPolicy: policy });
  await deployApp(client, TASK_QUEUE, v1);
  let status = await waitForStatus(client, 'can', 'Running', (s) => s.phase === 'Running');
  await deployApp(client, TASK_QUEUE, testApp('can', { restartPolicy: policy, labels: { rev: '2' } }));
  status = await waitForStatus(
    client,
    'can',
    'revision 2 running',
    (s) => s.phase === 'Running' && s.attempts.at(-1)?.revision === 2,
  );
  const firstRunId = (await appHandle(client, 'can').describe()).runId;

  for (let i = 1; i <= 4; i++) {
    cluster.killFromOutside(status.yarnAppId!);
    const previous = status.yarnAppId;
    status = await waitForStatus(
      client,
      'can',
      `restart ${i}`,
      (s) => s.phase === 'Running' && s.yarnAppId !== previous,
    );
    assert.equal(status.restarts, i);
  }
  const description = await appHandle(client, 'can').describe();
  assert.notEqual(description.runId, firstRunId, 'the workflow continued as new');
  assert.equal(status.revision, 2);
  assert.equal(status.restarts, 4);

  // The first run ended in ContinuedAsNew, and the current run supervises the app it was handed.
  const firstRun = await client.workflow.getHandle('kappa/can', firstRunId).fetchHistory();
  const last = firstRun.events!.at(-1)!;
  assert.equal(
    last.eventType,
    temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
  );
  assert.deepEqual(
    cluster.live(v1.spec.yarn.appName).map((a) => a.id),
    [status.yarnAppId],
  );

  // A restart arriving now still lands in whichever run is current.
  await appHandle(client, 'can').signal(stopSignal, {});
  const result = (await appHandle(client, 'can').result()) as { phase: string; restarts: number };
  assert.deepEqual([result.phase, result.restarts], ['Stopped', 4]);
});
