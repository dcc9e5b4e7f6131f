// The app workflow on a real Temporal dev server, driven through the activity factory with the fake cluster.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { temporalCliPath, type DevServer } from '../../src/temporal/dev-server.js';
import { restartSignal, stopSignal, type AppStatus } from '../../src/workflows/definitions.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Worker } from '@temporalio/worker';
import type { FakeCluster } from '../support/fake-cluster.js';
import {
  appHandle,
  queryStatus,
  testApp,
  waitFor,
  waitForStatus,
  workflowBundle,
  startTestbed,
  type Testbed,
} from '../support/harness.js';

let bed: Testbed;
let server: DevServer;
let client: Client;
let cluster: FakeCluster;

before(async () => {
  bed = await startTestbed();
  ({ server, client, cluster } = bed);
});

after(() => bed?.close());

/** The message of the failure a workflow ended with. */
async function failureOf(result: Promise<unknown>): Promise<string> {
  try {
    await result;
  } catch (err) {
    assert.ok(err instanceof WorkflowFailedError);
    return String(err.cause?.message);
  }
  assert.fail('the workflow did not fail');
}

async function runningApp(app: string, previousId?: string) {
  return waitForStatus(
    client,
    app,
    `${app} Running`,
    (s) => s.phase === 'Running' && s.yarnAppId !== null && s.yarnAppId !== previousId,
  );
}

describe('app workflow', { concurrency: true }, () => {
  test('restart budget: backoff doubles up to its cap, then the app is Failed', async () => {
    const config = testApp('budget', {
      restartPolicy: { maxRestarts: 3, backoff: { initial: '1s', factor: 2, max: '2s' } },
    });
    await deployApp(client, TASK_QUEUE, config);
    let id: string | undefined;
    for (let i = 0; i < 4; i++) {
      const status = await runningApp('budget', id);
      id = status.yarnAppId!;
      assert.equal(status.restarts, i);
      cluster.killFromOutside(id, 'FAILED', 'FAILED', 'User class threw exception: boom');
    }
    const handle = appHandle(client, 'budget');
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(
        String(err.cause?.message),
        /gave up after 3 restarts.*FAILED\/FAILED: User class threw exception: boom/,
      );
      return true;
    });
    const final = await queryStatus(client, 'budget');
    assert.equal(final.phase, 'Failed');
    assert.equal(final.restarts, 3);
    assert.equal(cluster.stepRuns('budget', 'submit').length, 4, 'first run + 3 restarts');

    // The backoff as Temporal recorded it: timers of 1s, 2s, 2s (capped), each firing no earlier than asked.
    const history = await handle.fetchHistory();
    const EventType = temporal.api.enums.v1.EventType;
    const summary = (e: temporal.api.history.v1.IHistoryEvent) =>
      JSON.parse(Buffer.from(e.userMetadata?.summary?.data ?? '""').toString()) as string;
    const started = history.events!.filter(
      (e) => e.eventType === EventType.EVENT_TYPE_TIMER_STARTED && summary(e).startsWith('backoff'),
    );
    assert.deepEqual(started.map(summary), [
      'backoff before restart 1 of 3',
      'backoff before restart 2 of 3',
      'backoff before restart 3 of 3',
    ]);
    const asked = started.map((e) => Number(e.timerStartedEventAttributes!.startToFireTimeout!.seconds));
    assert.deepEqual(asked, [1, 2, 2]);
    const time = (e: temporal.api.history.v1.IHistoryEvent) =>
      Number(e.eventTime!.seconds) * 1000 + Math.floor((e.eventTime!.nanos ?? 0) / 1e6);
    for (const timer of started) {
      const fired = history.events!.find(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_TIMER_FIRED &&
          e.timerFiredEventAttributes!.timerId === timer.timerStartedEventAttributes!.timerId,
      );
      assert.ok(fired, 'every backoff timer fired');
      const seconds = Number(timer.timerStartedEventAttributes!.startToFireTimeout!.seconds);
      assert.ok(
        time(fired) - time(timer) >= seconds * 1000 - 50,
        `timer of ${seconds}s fired after ${time(fired) - time(timer)} ms`,
      );
    }
  });

  test('resetAfter: an app that ran long enough gets a fresh budget', async () => {
    const config = testApp('reset', {
      restartPolicy: { maxRestarts: 1, resetAfter: '2s', backoff: { initial: '1s', max: '1s' } },
    });
    await deployApp(client, TASK_QUEUE, config);
    let status = await runningApp('reset');
    cluster.killFromOutside(status.yarnAppId!); // dies early: restart 1 of 1
    status = await runningApp('reset', status.yarnAppId!);
    assert.equal(status.restarts, 1);
    // Still running after resetAfter: the count is back to 0 while it runs.
    status = await waitForStatus(client, 'reset', 'budget reset', (s) => s.restarts === 0);
    cluster.killFromOutside(status.yarnAppId!); // would exceed maxRestarts 1 without the reset
    status = await runningApp('reset', status.yarnAppId!);
    assert.equal(status.restarts, 1);
    assert.equal(status.totalRestarts, 2);
    await appHandle(client, 'reset').signal(stopSignal, {});
  });

  test('a restart re-runs the steps from restartPolicy.from', async () => {
    const config = testApp('from', {
      restartPolicy: { from: 'submit', backoff: { initial: '1s' } },
      steps: [
        { name: 'prepare', script: ['sleep', '10ms'] },
        { name: 'submit', script: ['submit', 'App-from'] },
        { name: 'notify', script: ['sleep', '10ms'] },
      ],
    });
    await deployApp(client, TASK_QUEUE, config);
    const first = await runningApp('from');
    cluster.killFromOutside(first.yarnAppId!);
    const second = await runningApp('from', first.yarnAppId!);
    assert.equal(second.attempts.at(-1)?.from, 'submit');
    assert.equal(cluster.stepRuns('from', 'prepare').length, 1);
    assert.equal(cluster.stepRuns('from', 'submit').length, 2);
    assert.equal(cluster.stepRuns('from', 'notify').length, 2);
    await appHandle(client, 'from').signal(stopSignal, {});
  });

  test('stop during a step cancels the step and kills whatever it submitted', async () => {
    const config = testApp('stop-step', {
      steps: [
        { name: 'submit', script: ['submit-quietly', 'App-stop-step'] },
        { name: 'build', script: ['block', 'stop-step'] },
      ],
    });
    await deployApp(client, TASK_QUEUE, config);
    await waitFor('build started', () => cluster.stepRuns('stop-step', 'build').length === 1);
    const handle = appHandle(client, 'stop-step');
    assert.equal((await queryStatus(client, 'stop-step')).step, 'build');
    await handle.signal(stopSignal, { reason: 'test' });
    const result = (await handle.result()) as { phase: string };
    assert.equal(result.phase, 'Stopped');
    assert.equal(
      cluster.stepRuns('stop-step', 'build', 'step-cancelled').length,
      1,
      'the activity saw the cancellation',
    );
    assert.deepEqual(cluster.live('App-stop-step'), [], 'nothing left running on YARN');
  });

  test('stop during a backoff wait ends it at once', async () => {
    const config = testApp('stop-backoff', { restartPolicy: { backoff: { initial: '1h', max: '1h' } } });
    await deployApp(client, TASK_QUEUE, config);
    const status = await runningApp('stop-backoff');
    cluster.killFromOutside(status.yarnAppId!);
    await waitForStatus(client, 'stop-backoff', 'BackingOff', (s) => s.phase === 'BackingOff');
    const handle = appHandle(client, 'stop-backoff');
    const t0 = Date.now();
    await handle.signal(stopSignal, {});
    const result = (await handle.result()) as { phase: string };
    assert.equal(result.phase, 'Stopped');
    assert.ok(Date.now() - t0 < 15_000, `stopped in ${Date.now() - t0} ms, not after the 1h backoff`);
  });

  test('stop kills the YARN app; --leave-running leaves it', async () => {
    await deployApp(client, TASK_QUEUE, testApp('stop-kill'));
    await deployApp(client, TASK_QUEUE, testApp('stop-leave'));
    const killed = await runningApp('stop-kill');
    const left = await runningApp('stop-leave');
    await appHandle(client, 'stop-kill').signal(stopSignal, {});
    await appHandle(client, 'stop-leave').signal(stopSignal, { leaveRunning: true });
    const stopped = (await appHandle(client, 'stop-kill').result()) as AppStatus;
    await appHandle(client, 'stop-leave').result();
    assert.equal(cluster.apps().find((a) => a.id === killed.yarnAppId)?.state, 'KILLED');
    assert.equal(cluster.apps().find((a) => a.id === left.yarnAppId)?.state, 'RUNNING');
    // A stopped app shows no uptime, and its last attempt ended `stopped`, not `running`.
    assert.deepEqual(
      [stopped.phase, stopped.runningSince, stopped.attempts.at(-1)?.outcome, stopped.yarnAppId],
      ['Stopped', null, 'stopped', killed.yarnAppId],
    );
  });

  test('cancelling the workflow (Temporal UI, temporal CLI) is a stop: the app is killed, not orphaned', async () => {
    await deployApp(client, TASK_QUEUE, testApp('cancelled'));
    const status = await runningApp('cancelled');
    const handle = appHandle(client, 'cancelled');
    await handle.cancel();
    await assert.rejects(
      handle.result(),
      (err: unknown) =>
        err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause?.name ?? err.cause?.message)),
    );
    assert.equal(cluster.apps().find((a) => a.id === status.yarnAppId)?.state, 'KILLED');
    assert.equal((await queryStatus(client, 'cancelled')).phase, 'Stopped');
  });

  test('a manual restart replaces the instance and is not counted', async () => {
    await deployApp(client, TASK_QUEUE, testApp('manual'));
    const first = await runningApp('manual');
    await appHandle(client, 'manual').signal(restartSignal, { reason: 'test' });
    const second = await runningApp('manual', first.yarnAppId!);
    assert.equal(second.restarts, 0);
    assert.equal(second.totalRestarts, 0);
    assert.equal(second.attempts.at(-1)?.reason, 'test');
    assert.equal(
      cluster.apps().find((a) => a.id === first.yarnAppId)?.state,
      'KILLED',
      'old instance killed first',
    );
    assert.equal(cluster.live('App-manual').length, 1, 'exactly one instance');
    await appHandle(client, 'manual').signal(stopSignal, {});
  });
});

describe('deploy update', { concurrency: true }, () => {
  test('a new config is swapped in and the app rebuilt at the new revision; the same config changes nothing', async () => {
    const v1 = testApp('redeploy', {
      steps: [
        { name: 'prepare', script: ['sleep', '10ms'] },
        { name: 'submit', script: ['submit', 'App-redeploy'] },
      ],
    });
    assert.equal((await deployApp(client, TASK_QUEUE, v1)).action, 'started');
    const first = await runningApp('redeploy');
    assert.deepEqual(await deployApp(client, TASK_QUEUE, v1), {
      app: 'redeploy',
      workflowId: 'kappa/redeploy',
      action: 'unchanged',
      revision: 1,
    });

    const v2 = testApp('redeploy', {
      labels: { version: '2' },
      restartPolicy: { from: 'submit' },
      steps: [
        { name: 'prepare', script: ['sleep', '20ms'] },
        { name: 'submit', script: ['submit', 'App-redeploy'] },
      ],
    });
    const report = await deployApp(client, TASK_QUEUE, v2);
    assert.deepEqual([report.action, report.revision], ['updated', 2]);
    const second = await waitForStatus(
      client,
      'redeploy',
      'revision 2 running',
      (s) => s.phase === 'Running' && s.attempts.at(-1)?.revision === 2,
    );
    assert.notEqual(second.yarnAppId, first.yarnAppId);
    assert.equal(second.attempts.at(-1)?.from, 'prepare', 'a new revision rebuilds from the first step');
    assert.equal(second.restarts, 0, 'a deploy is not counted against the budget');
    assert.equal(
      cluster.apps().find((a) => a.id === first.yarnAppId)?.state,
      'KILLED',
      'old instance stopped first',
    );
    assert.equal(cluster.live('App-redeploy').length, 1);
    await appHandle(client, 'redeploy').signal(stopSignal, {});
  });

  test('a rejected config leaves the running app untouched', async () => {
    const v1 = testApp('reject');
    await deployApp(client, TASK_QUEUE, v1);
    const before = await runningApp('reject');
    const broken = structuredClone(v1) as unknown as {
      spec: { restartPolicy: { backoff: { factor: number } } };
    };
    broken.spec.restartPolicy.backoff.factor = 0.5;
    await assert.rejects(
      deployApp(client, TASK_QUEUE, broken as never),
      /spec\.restartPolicy\.backoff\.factor: expected number >= 1/,
    );
    const renamed = { ...v1, metadata: { name: 'other' } };
    await assert.rejects(
      appHandle(client, 'reject').executeUpdate('deploy', { args: [renamed] }),
      (err: Error) =>
        /this workflow runs "reject", not "other"/.test(
          String((err.cause as Error | undefined)?.message ?? err.message),
        ),
    );
    const after = await queryStatus(client, 'reject');
    assert.deepEqual(
      [after.phase, after.revision, after.yarnAppId, after.attempts.length],
      ['Running', 1, before.yarnAppId, before.attempts.length],
    );
    await appHandle(client, 'reject').signal(stopSignal, {});
  });
});

describe('existing instances and failures', { concurrency: true }, () => {
  test('onExisting adopt: an app already running is supervised, not submitted again', async () => {
    const id = cluster.submit('App-adopt');
    await deployApp(client, TASK_QUEUE, testApp('adopt'));
    const status = await runningApp('adopt');
    assert.equal(status.yarnAppId, id);
    assert.equal(status.attempts.at(-1)?.outcome, 'adopted');
    assert.equal(cluster.stepRuns('adopt', 'submit').length, 0);
    await appHandle(client, 'adopt').signal(stopSignal, {});
  });

  test('onExisting kill: the old instance is killed before the steps run', async () => {
    const old = cluster.submit('App-kill-existing');
    await deployApp(client, TASK_QUEUE, testApp('kill-existing', { yarn: { onExisting: 'kill' } }));
    const status = await runningApp('kill-existing');
    assert.notEqual(status.yarnAppId, old);
    assert.equal(cluster.apps().find((a) => a.id === old)?.state, 'KILLED');
    assert.equal(cluster.live('App-kill-existing').length, 1);
    await appHandle(client, 'kill-existing').signal(stopSignal, {});
  });

  test('onExisting fail: the attempt fails with ExistingInstance and nothing is submitted', async () => {
    cluster.submit('App-fail-existing');
    await deployApp(
      client,
      TASK_QUEUE,
      testApp('fail-existing', { yarn: { onExisting: 'fail' }, restartPolicy: { maxRestarts: 0 } }),
    );
    assert.match(
      await failureOf(appHandle(client, 'fail-existing').result()),
      /gave up after 0 restarts.*already live/,
    );
    assert.equal(cluster.stepRuns('fail-existing', 'submit').length, 0);
  });

  test('a copy started by hand while the app runs is killed at the next poll; the supervised one stays', async () => {
    await deployApp(client, TASK_QUEUE, testApp('extra'));
    const running = await runningApp('extra');
    const extra = cluster.submit('App-extra');
    await waitFor('the extra copy killed', () => cluster.live('App-extra').length === 1);
    assert.deepEqual(
      cluster.live('App-extra').map((a) => a.id),
      [running.yarnAppId],
    );
    assert.equal(cluster.apps().find((a) => a.id === extra)?.state, 'KILLED');
    const status = await queryStatus(client, 'extra');
    assert.equal(status.phase, 'Running');
    assert.equal(status.restarts, 0);
    assert.deepEqual(
      status.attempts.at(-1)?.extraInstances?.map((e) => [e.yarnAppId, e.action]),
      [[extra, 'killed']],
    );
    assert.equal(cluster.stepRuns('extra', 'submit').length, 1, 'nothing resubmitted');
    await appHandle(client, 'extra').signal(stopSignal, {});
  });

  test('onExisting fail: a copy started by hand makes Kappa kill its own instance and fail loudly', async () => {
    await deployApp(client, TASK_QUEUE, testApp('extra-fail', { yarn: { onExisting: 'fail' } }));
    const running = await runningApp('extra-fail');
    const extra = cluster.submit('App-extra-fail');
    assert.match(
      await failureOf(appHandle(client, 'extra-fail').result()),
      new RegExp(`also live on local as ${extra} and onExisting is fail: killed ${running.yarnAppId!}`),
    );
    assert.deepEqual(
      cluster.live('App-extra-fail').map((a) => a.id),
      [extra],
      'only the copy started by hand is left',
    );
    const status = await queryStatus(client, 'extra-fail');
    assert.equal(status.phase, 'Failed');
    assert.deepEqual(
      status.attempts.at(-1)?.extraInstances?.map((e) => [e.yarnAppId, e.action]),
      [[extra, 'conflict']],
    );
  });

  test('a failing step uses the budget and its error is reported', async () => {
    await deployApp(
      client,
      TASK_QUEUE,
      testApp('bad-step', {
        restartPolicy: { maxRestarts: 1, backoff: { initial: '100ms', max: '100ms' } },
        steps: [{ name: 'build', script: ['fail', '3'] }],
      }),
    );
    assert.match(
      await failureOf(appHandle(client, 'bad-step').result()),
      /gave up after 1 restart; last error: step "build" exited with code 3/,
    );
    const status = await queryStatus(client, 'bad-step');
    assert.equal(status.phase, 'Failed');
    assert.equal(status.attempts.length, 2);
    assert.ok(status.attempts.every((a) => a.outcome === 'failed' && /code 3/.test(a.error ?? '')));
  });

  test('edge node unreachable: Degraded, nothing restarted, Running again when it returns', async () => {
    await deployApp(
      client,
      TASK_QUEUE,
      testApp('degraded', { yarn: { host: 'edge-down', unreachableTimeout: '1h' } }),
    );
    const running = await runningApp('degraded');
    const submissions = cluster.stepRuns('degraded', 'submit').length;
    cluster.setReachable('edge-down', false);
    try {
      const degraded = await waitForStatus(client, 'degraded', 'Degraded', (s) => s.phase === 'Degraded');
      assert.match(degraded.lastError ?? '', /unreachable.*Connection refused/);
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await queryStatus(client, 'degraded')).phase, 'Degraded');
    } finally {
      cluster.setReachable('edge-down', true);
    }
    const back = await waitForStatus(client, 'degraded', 'Running again', (s) => s.phase === 'Running');
    assert.equal(back.yarnAppId, running.yarnAppId);
    assert.equal(back.restarts, 0);
    assert.equal(back.lastError, null, 'the outage is over: no error shown');
    assert.equal(cluster.stepRuns('degraded', 'submit').length, submissions, 'no resubmission');
    await appHandle(client, 'degraded').signal(stopSignal, {});
  });

  test('unreachable past unreachableTimeout: supervision fails and the restart policy decides', async () => {
    await deployApp(
      client,
      TASK_QUEUE,
      testApp('lost', {
        yarn: { host: 'edge-lost', unreachableTimeout: '1s' },
        restartPolicy: { maxRestarts: 0 },
      }),
    );
    await runningApp('lost');
    cluster.setReachable('edge-lost', false);
    try {
      const message = await failureOf(appHandle(client, 'lost').result());
      assert.match(
        message,
        /gave up after 0 restarts; last error: edge-lost unreachable for 1s: ssh: connect to host edge-lost/,
      );
    } finally {
      cluster.setReachable('edge-lost', true);
    }
    assert.equal((await queryStatus(client, 'lost')).phase, 'Failed');
  });

  test('a start: the existence check in the first workflow task; no awaitApp when the last step saw its app listed, one when not', async () => {
    // Activities scheduled, and local activities run (their markers), in history order.
    const activitiesOf = async (app: string) => {
      const handle = appHandle(client, app);
      await handle.signal(stopSignal, {});
      await handle.result();
      return (await handle.fetchHistory()).events!.flatMap((e) => {
        const a = e.activityTaskScheduledEventAttributes;
        if (a) return [{ type: a.activityType!.name!, input: a.input?.payloads?.[0]?.data }];
        const marker = e.markerRecordedEventAttributes;
        const data =
          marker?.markerName === 'core_local_activity' ? marker.details?.data?.payloads?.[0]?.data : null;
        const type = data
          ? (JSON.parse(Buffer.from(data).toString()) as { activity_type?: string }).activity_type
          : null;
        return type ? [{ type: `local ${type}`, input: undefined }] : [];
      });
    };
    await deployApp(client, TASK_QUEUE, testApp('reports'));
    await deployApp(
      client,
      TASK_QUEUE,
      testApp('unlisted', {
        steps: [{ name: 'submit', script: ['submit-unlisted', 'App-unlisted', '1500ms'] }],
      }),
    );
    const [listed, late] = await Promise.all([runningApp('reports'), runningApp('unlisted')]);

    const reports = await activitiesOf('reports');
    assert.deepEqual(
      reports.map((a) => a.type).slice(0, 4),
      ['local validateConfig', 'local findLiveApps', 'runStep', 'superviseApp'],
      'listed at once: supervised straight after the step',
    );
    const runStepInput = JSON.parse(Buffer.from(reports[2]!.input!).toString()) as { reportApp?: boolean };
    assert.equal(runStepInput.reportApp, true);
    assert.ok(listed.yarnAppId);

    const unlisted = await activitiesOf('unlisted');
    assert.deepEqual(
      unlisted.map((a) => a.type).slice(0, 5),
      ['local validateConfig', 'local findLiveApps', 'runStep', 'awaitApp', 'superviseApp'],
      'not listed yet: the workflow waits for it as before',
    );
    assert.equal(cluster.stepRuns('unlisted', 'submit').length, 1);
    assert.ok(late.yarnAppId);
  });

  test("a run's patch is decided before its first local activity; what the run started with is not upserted again", async () => {
    // Seen under load: a workflow task completed with a local activity's result, and the code after it ran in the
    // next task. A patch asked there is replayed a task earlier, before core has read its marker: replay takes
    // the old path and fails. So the run's patch comes first; the input check's patch is asked next.
    await deployApp(client, TASK_QUEUE, testApp('patch-order'));
    await runningApp('patch-order');
    const handle = appHandle(client, 'patch-order');
    await handle.signal(stopSignal, {});
    await handle.result();
    const events = (await handle.fetchHistory()).events!;
    const markers = events.flatMap((e) => {
      const marker = e.markerRecordedEventAttributes;
      if (!marker) return [];
      if (marker.markerName !== 'core_patch') return ['local activity'];
      const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
      return [(JSON.parse(Buffer.from(data!).toString()) as { id: string }).id];
    });
    assert.deepEqual(markers.slice(0, 4), [
      'quick-start',
      'input-check-in-activity',
      'local activity',
      'local activity',
    ]);
    // kappa deploy starts the workflow with its app, kind, phase Starting and restarts 0: the first upsert of the
    // app's own search attributes is the YARN application id.
    const upserts = events.flatMap((e) => {
      const fields = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
      const names = Object.keys(fields ?? {}).filter((name) => name.startsWith('Kappa'));
      return names.length > 0 ? [names.sort().join(',')] : [];
    });
    assert.deepEqual(upserts.slice(0, 2), ['KappaYarnAppId', 'KappaPhase']);
  });

  test('a BatchJob succeeds when its YARN app finishes SUCCEEDED', async () => {
    await deployApp(client, TASK_QUEUE, testApp('batch', { kind: 'BatchJob' }));
    const status = await runningApp('batch');
    cluster.killFromOutside(status.yarnAppId!, 'FINISHED', 'SUCCEEDED', '');
    const result = (await appHandle(client, 'batch').result()) as { phase: string };
    assert.equal(result.phase, 'Succeeded');
  });
});

describe('determinism', () => {
  test('every history recorded above replays against the workflow code', async () => {
    const histories: {
      workflowId: string;
      runId: string;
      history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
    }[] = [];
    for await (const wf of client.workflow.list({
      query: "WorkflowType = 'appWorkflow' AND ExecutionStatus != 'Running'",
    })) {
      const history = await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      histories.push({ workflowId: wf.workflowId, runId: wf.runId, history });
    }
    assert.ok(histories.length >= 10, `replaying ${histories.length} histories`);
    const results = Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories);
    for await (const result of results)
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);

    // KAPPA_RECORD_HISTORIES=1 refreshes the committed fixtures that replay.test.ts checks future code against.
    if (process.env.KAPPA_RECORD_HISTORIES === '1') {
      const dir = join(__dirname, '..', 'fixtures', 'histories');
      mkdirSync(dir, { recursive: true });
      // The format `temporal workflow show --output json` prints, which is what operators would hand us too.
      for (const { workflowId, runId } of histories) {
        const json = execFileSync(temporalCliPath(), [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--run-id',
          runId,
          '--output',
          'json',
          '--address',
          server.address,
        ]);
        writeFileSync(join(dir, `${workflowId.replace(/\//g, '_')}-${runId.slice(0, 8)}.json`), json);
      }
    }
  });
});
