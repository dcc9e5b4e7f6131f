// The `kappa` CLI and the real `temporal` CLI against a real dev server, with a worker on the fake cluster.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import type { V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { runKappa } from '../support/kappa-cli.js';
import { podProblems } from '../support/pod-checks.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { temporalCliPath, type DevServer } from '../../src/temporal/dev-server.js';
import type { FakeCluster } from '../support/fake-cluster.js';
import { tempDir, testApp, waitFor, waitForStatus, startTestbed, type Testbed } from '../support/harness.js';

const run = promisify(execFile);

let bed: Testbed;
let server: DevServer;
let client: Client;
let cluster: FakeCluster;
let dir: string;
let workerConfig: string;

before(async () => {
  bed = await startTestbed();
  ({ server, client, cluster } = bed);
  dir = tempDir('cli');
  workerConfig = join(dir, 'worker.yaml');
  writeFileSync(workerConfig, stringify({ temporal: { address: server.address, taskQueue: 'kappa' } }));
});

after(() => bed?.close());

const kappa = (...args: string[]) =>
  runKappa(['--worker-config', workerConfig, ...args], { cwd: dir, env: { ...process.env, CI: 'true' } });

async function temporalCli(...args: string[]): Promise<string> {
  const { stdout } = await run(temporalCliPath(), [...args, '--address', server.address]);
  return stdout;
}

/** A test app as a file: `kappa deploy` refuses polls under 1s (the edge node's JVMs), so files poll at 1s. */
function writeApp(config: AppConfig): string {
  const file = join(dir, `${config.metadata.name}.yaml`);
  const yarn = { ...config.spec.yarn, pollInterval: '1s' };
  writeFileSync(file, stringify({ ...config, spec: { ...config.spec, yarn } }));
  return file;
}

describe('kappa CLI', { concurrency: true }, () => {
  test('deploy --wait --json, status --json, list --json, stop: a CI script reads JSON, no human text', async () => {
    const file = writeApp(testApp('ci-app'));
    const deployed = await kappa('deploy', file, '--wait', '--timeout', '1m', '--json');
    assert.equal(deployed.code, 0, deployed.stderr);
    const report = JSON.parse(deployed.stdout) as {
      action: string;
      phase: string;
      yarnAppId: string;
      revision: number;
    };
    assert.equal(report.action, 'started');
    assert.equal(report.phase, 'Running');
    assert.match(report.yarnAppId, /^application_\d+_\d+$/);
    assert.deepEqual(
      cluster.live('App-ci-app').map((a) => a.id),
      [report.yarnAppId],
    );

    const again = await kappa('deploy', file, '--json');
    assert.equal(again.code, 0);
    assert.equal((JSON.parse(again.stdout) as { action: string }).action, 'unchanged');

    const status = await kappa('status', 'ci-app', '--json');
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as {
      phase: string;
      yarnAppId: string;
      execution: string;
      lastHeartbeatAt: string;
    };
    assert.deepEqual(
      [parsed.phase, parsed.yarnAppId, parsed.execution],
      ['Running', report.yarnAppId, 'RUNNING'],
    );
    assert.ok(Date.now() - Date.parse(parsed.lastHeartbeatAt) < 60_000);

    const list = await waitFor('list shows the app Running', async () => {
      const out = await kappa('list', '--json');
      const apps = JSON.parse(out.stdout) as { app: string; phase: string; yarnAppId: string }[];
      const app = apps.find((a) => a.app === 'ci-app');
      return app?.phase === 'Running' && app.yarnAppId === report.yarnAppId ? app : undefined;
    });
    assert.equal(list.app, 'ci-app');

    const human = await kappa('status', 'ci-app');
    assert.match(human.stdout, /phase:\s+Running/);

    const stopped = await kappa('stop', 'ci-app');
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /ci-app: Stopped/);
    assert.deepEqual(cluster.live('App-ci-app'), []);
    assert.equal((await kappa('stop', 'ci-app')).code, 1, 'stopping a stopped app is an error');
  });

  test('a directory: its .yaml files deployed, reported in name order; an empty one is an error', async () => {
    const appsDir = join(dir, 'apps-dir');
    mkdirSync(appsDir);
    for (const name of ['dir-c', 'dir-a', 'dir-b']) {
      renameSync(writeApp(testApp(name)), join(appsDir, `${name}.yaml`));
    }
    writeFileSync(join(appsDir, 'README.txt'), 'not an app');
    const out = await kappa('deploy', appsDir, '--wait');
    assert.equal(out.code, 0, out.stderr);
    const started = out.stdout.split('\n').filter((line) => / started /.test(line));
    assert.deepEqual(started, [
      'dir-a: started (revision 1)',
      'dir-b: started (revision 1)',
      'dir-c: started (revision 1)',
    ]);
    const empty = join(dir, 'no-apps');
    mkdirSync(empty);
    const none = await kappa('deploy', empty);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no app configs \(\.yaml, \.yml\) in .*no-apps/);
  });

  test('several files in one deploy: each reported, all waited for; a changed config is updated', async () => {
    const a = writeApp(testApp('multi-a'));
    const b = writeApp(testApp('multi-b'));
    const out = await kappa('deploy', a, b, '--wait', '--json');
    assert.equal(out.code, 0, out.stderr);
    const reports = JSON.parse(out.stdout) as { app: string; action: string; phase: string }[];
    assert.deepEqual(
      reports.map((r) => [r.app, r.action, r.phase]),
      [
        ['multi-a', 'started', 'Running'],
        ['multi-b', 'started', 'Running'],
      ],
    );
    const changed = writeApp(testApp('multi-b', { labels: { version: '2' } }));
    const again = await kappa('deploy', a, changed, '--wait', '--json');
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as {
      app: string;
      action: string;
      revision: number;
      phase: string;
    }[];
    assert.deepEqual(
      second.map((r) => [r.app, r.action, r.revision, r.phase]),
      [
        ['multi-a', 'unchanged', 1, 'Running'],
        ['multi-b', 'updated', 2, 'Running'],
      ],
    );
    for (const app of ['multi-a', 'multi-b']) assert.equal((await kappa('stop', app)).code, 0);
  });

  test('restart re-runs the steps without using the budget', async () => {
    const file = writeApp(testApp('cli-restart'));
    assert.equal((await kappa('deploy', file, '--wait', '--json')).code, 0);
    const first = await waitForStatus(client, 'cli-restart', 'Running', (s) => s.phase === 'Running');
    const restarted = await kappa('restart', 'cli-restart');
    assert.equal(restarted.code, 0, restarted.stderr);
    const second = await waitForStatus(
      client,
      'cli-restart',
      'new instance',
      (s) => s.phase === 'Running' && s.yarnAppId !== first.yarnAppId,
    );
    assert.equal(second.restarts, 0);
    assert.equal((await kappa('stop', 'cli-restart')).code, 0);
  });

  test('exit codes: invalid config 2 (deploy) and 1 (validate), unknown app 1, --wait timeout 3, usage 2', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: kappa/v1\nkind: StreamingApp\nmetadata: { name: bad }\nspec:\n  yarn: { host: local, appName: X, pollInterval: soon }\n  steps: []\n',
    );
    const deployBad = await kappa('deploy', bad);
    assert.equal(deployBad.code, 2);
    assert.match(deployBad.stderr, /bad\.yaml:5:50: spec\.yarn\.pollInterval: expected a duration/);
    assert.match(deployBad.stderr, /bad\.yaml:6:10: spec\.steps: needs at least one step/);
    assert.equal((await kappa('validate', bad)).code, 1);
    assert.equal((await kappa('status', 'no-such-app')).code, 1);
    assert.equal((await kappa('frobnicate')).code, 2);
    assert.equal((await kappa('deploy', bad, '--timeout', 'soon')).code, 2);

    const slow = writeApp(testApp('cli-slow', { steps: [{ name: 'build', script: ['block', 'cli-slow'] }] }));
    const waited = await kappa('deploy', slow, '--wait', '--timeout', '2s', '--json');
    assert.equal(waited.code, 3, waited.stderr);
    assert.equal((JSON.parse(waited.stdout) as { phase: string }).phase, 'Starting');
    assert.equal((await kappa('stop', 'cli-slow')).code, 0);
  });

  test('kappa render prints, for each example, pods an API server would accept and the quoted commands', async () => {
    let pods = 0;
    for (const example of [
      'international-roaming',
      'clickstream-enrichment',
      'fraud-scoring',
      'nightly-billing',
    ]) {
      const out = await kappa('render', join(__dirname, '..', '..', 'config', 'apps', `${example}.yaml`));
      assert.equal(out.code, 0, out.stderr);
      const docs = parseAllDocuments(out.stdout).map((d) => d.toJS() as Record<string, unknown>);
      for (const doc of docs.filter((d) => d.kind === 'Pod')) {
        pods++;
        assert.deepEqual(podProblems(doc as V1Pod), [], example);
      }
      assert.ok(
        docs.some((d) => 'supervise' in d),
        `${example}: supervision shown`,
      );
    }
    assert.equal(pods, 2);
    const roaming = await kappa(
      'render',
      join(__dirname, '..', '..', 'config', 'apps', 'international-roaming.yaml'),
    );
    assert.match(roaming.stdout, /command: hdfs dfs -touchz \/flags\/roaming-deployed/);
    assert.match(roaming.stdout, /secretKeyRef:\n\s+name: roaming-secrets\n\s+key: kafka-password/);
  });

  test('BatchJob: deploy keeps a Temporal Schedule; kappa run triggers a run that succeeds only if YARN says so', async () => {
    const job = testApp('nightly', { kind: 'BatchJob', restartPolicy: { maxRestarts: 0 } });
    const file = writeApp(job);
    const first = await kappa('deploy', file, '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      (({ action, schedule }) => ({ action, schedule }))(
        JSON.parse(first.stdout) as { action: string; schedule: string },
      ),
      { action: 'scheduled', schedule: 'kappa/nightly' },
    );
    assert.equal(
      (JSON.parse((await kappa('deploy', file, '--json')).stdout) as { action: string }).action,
      'unchanged',
    );
    const cron = {
      ...job,
      spec: {
        ...job.spec,
        schedule: { cron: '0 3 * * *', timezone: 'Europe/Amsterdam', overlap: 'skip' as const },
      },
    };
    assert.equal(
      (JSON.parse((await kappa('deploy', writeApp(cron), '--json')).stdout) as { action: string }).action,
      'updated',
    );
    const listed = await temporalCli('schedule', 'list', '--output', 'json');
    assert.match(listed, /"scheduleId":\s*"kappa\/nightly"/);
    const described = await temporalCli(
      'schedule',
      'describe',
      '--schedule-id',
      'kappa/nightly',
      '--output',
      'json',
    );
    assert.match(described, /0 3 \* \* \*|"hour"/);
    assert.match(described, /Europe\/Amsterdam/);

    // A run that succeeds: its YARN app finishes SUCCEEDED.
    const succeeding = kappa('run', 'nightly', '--wait', '--timeout', '1m', '--json');
    const [app] = await waitFor(
      'the run to submit its app',
      () => cluster.live('App-nightly').length === 1 && cluster.live('App-nightly'),
    );
    cluster.killFromOutside(app!.id, 'FINISHED', 'SUCCEEDED', '');
    const ok = await succeeding;
    assert.equal(ok.code, 0, ok.stderr);
    const okReport = JSON.parse(ok.stdout) as { phase: string; workflowId: string };
    assert.equal(okReport.phase, 'Succeeded');
    assert.match(okReport.workflowId, /^kappa\/nightly-/);
    assert.match((await kappa('status', 'nightly')).stdout, /phase:\s+Succeeded/);

    // A run whose app fails, with no restarts left: exit 1.
    const failing = kappa('run', 'nightly', '--wait', '--timeout', '1m', '--json');
    const [second] = await waitFor(
      'the second run to submit',
      () => cluster.live('App-nightly').length === 1 && cluster.live('App-nightly'),
    );
    cluster.killFromOutside(second!.id, 'FINISHED', 'FAILED', 'User class threw exception');
    const bad = await failing;
    assert.equal(bad.code, 1);
    assert.equal((JSON.parse(bad.stdout) as { phase: string }).phase, 'Failed');
    assert.equal((await kappa('run', 'no-such-job')).code, 1);
  });

  test('the temporal CLI lists apps by search attribute, queries status, signals stop and restart', async () => {
    const file = writeApp(testApp('tctl-app'));
    assert.equal((await kappa('deploy', file, '--wait')).code, 0);
    const first = await waitForStatus(client, 'tctl-app', 'Running', (s) => s.phase === 'Running');

    const listed = await waitFor('visible by KappaApp', async () => {
      const out = await temporalCli(
        'workflow',
        'list',
        '--query',
        "KappaApp='tctl-app' AND KappaPhase='Running'",
        '--output',
        'json',
      );
      return out.includes('kappa/tctl-app') ? out : undefined;
    });
    assert.match(listed, /"workflowId":\s*"kappa\/tctl-app"/);

    const queried = JSON.parse(
      await temporalCli(
        'workflow',
        'query',
        '--workflow-id',
        'kappa/tctl-app',
        '--type',
        'status',
        '--output',
        'json',
      ),
    ) as {
      queryResult: { phase: string; yarnAppId: string }[];
    };
    assert.equal(queried.queryResult[0]?.phase, 'Running');
    assert.equal(queried.queryResult[0]?.yarnAppId, first.yarnAppId);

    await temporalCli(
      'workflow',
      'signal',
      '--workflow-id',
      'kappa/tctl-app',
      '--name',
      'restart',
      '--input',
      '{"reason":"from temporal CLI"}',
    );
    const second = await waitForStatus(
      client,
      'tctl-app',
      'restarted',
      (s) => s.phase === 'Running' && s.yarnAppId !== first.yarnAppId,
    );
    assert.equal(second.attempts.at(-1)?.reason, 'from temporal CLI');

    await temporalCli(
      'workflow',
      'signal',
      '--workflow-id',
      'kappa/tctl-app',
      '--name',
      'stop',
      '--input',
      '{"reason":"from temporal CLI"}',
    );
    await waitForStatus(client, 'tctl-app', 'Stopped', (s) => s.phase === 'Stopped');
    assert.deepEqual(cluster.live('App-tctl-app'), []);
  });
  test('temporal workflow start with a hand-written config reaches Running; a bad one fails at once, naming the fields', async () => {
    // As the README shows it: the YAML written as JSON, nothing defaulted by hand.
    const config = {
      apiVersion: 'kappa/v1',
      kind: 'StreamingApp',
      metadata: { name: 'hand-app' },
      spec: {
        yarn: { host: 'local', appName: 'App-hand-app' },
        steps: [{ name: 'submit', ssh: { host: 'local', command: ['submit', 'App-hand-app'] } }],
      },
    };
    const start = (id: string, input: unknown) =>
      temporalCli(
        'workflow',
        'start',
        '--type',
        'appWorkflow',
        '--task-queue',
        'kappa',
        '--workflow-id',
        id,
        '--input',
        JSON.stringify(input),
      );
    await start('kappa/hand-app', config);
    const running = await waitForStatus(client, 'hand-app', 'Running', (s) => s.phase === 'Running');
    assert.deepEqual(
      cluster.live('App-hand-app').map((a) => a.id),
      [running.yarnAppId],
    );
    const status = await kappa('status', 'hand-app', '--json');
    assert.equal((JSON.parse(status.stdout) as { phase: string }).phase, 'Running');
    assert.equal((await kappa('stop', 'hand-app')).code, 0);

    const bad = { ...config, metadata: { name: 'hand-bad' }, spec: { yarn: { host: 'local' }, steps: [] } };
    await start('kappa/hand-bad', { config: bad });
    const failure = await client.workflow
      .getHandle('kappa/hand-bad')
      .result()
      .then(
        () => 'completed',
        (err: Error & { cause?: Error & { type?: string; nonRetryable?: boolean } }) =>
          `${err.cause?.type} ${String(err.cause?.nonRetryable)} ${err.cause?.message}`,
      );
    assert.match(failure, /^InvalidConfig true invalid workflow input: /);
    assert.match(failure, /config\.spec\.yarn\.appName: /);
    assert.match(failure, /config\.spec\.steps: /);
    const history = await client.workflow.getHandle('kappa/hand-bad').fetchHistory();
    const taskFailures = (history.events ?? []).filter((e) => e.workflowTaskFailedEventAttributes);
    assert.equal(taskFailures.length, 0, 'no workflow task failed: the workflow itself failed');

    const fast = { ...config, metadata: { name: 'hand-fast' } };
    await start('kappa/hand-fast', {
      ...fast,
      spec: { ...fast.spec, yarn: { ...fast.spec.yarn, pollInterval: '1ms' } },
    });
    assert.match(
      await client.workflow
        .getHandle('kappa/hand-fast')
        .result()
        .then(
          () => 'completed',
          (err: Error & { cause?: Error }) => err.cause?.message ?? '',
        ),
      /spec\.yarn\.pollInterval: /,
    );

    await start('kappa/not-its-name', config);
    assert.match(
      await client.workflow
        .getHandle('kappa/not-its-name')
        .result()
        .then(
          () => 'completed',
          (err: Error & { cause?: Error }) => err.cause?.message ?? '',
        ),
      /workflow id "kappa\/not-its-name" does not match metadata.name "hand-app"/,
    );
  });
});
