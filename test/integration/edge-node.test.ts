// Submitting and supervising Spark apps over real SSH (OpenSSH sshd on loopback) with the yarn/spark-submit
// double on the edge node, through the production activities, on a real Temporal dev server.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { productionDeps } from '../../src/production-deps.js';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { formatIssue } from '../../src/config/issues.js';
import { podName } from '../../src/kubernetes/pod-manifest.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { workerConfigSchema, type WorkerConfig } from '../../src/config/worker-config.js';
import { freePort, type DevServer } from '../../src/temporal/dev-server.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import {
  appHandle,
  connectClient,
  queryStatus,
  startServer,
  startWorker,
  tempDir,
  waitFor,
  waitForStatus,
  type RunningWorker,
} from '../support/harness.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { Sshd } from '../support/sshd.js';
import { YarnDouble } from '../support/yarn-double.js';

const sshd = new Sshd();
let server: DevServer;
let worker: RunningWorker | undefined;
let deps: ReturnType<typeof productionDeps> | undefined;
let client: Client;
let closeClient: () => Promise<void>;
let double: YarnDouble;
let workerConfig: WorkerConfig;
let workerConfigFile: string;

before(async () => {
  await sshd.start();
  server = await startServer();
  double = new YarnDouble(tempDir('edge-double'));
  workerConfig = workerConfigSchema.parse({
    temporal: { address: server.address },
    kubernetes: { namespace: 'spark-jobs', serviceAccount: 'kappa-submitter' },
    hosts: { 'edge-1': await sshd.hostConfig(double.yarn) },
  });
  workerConfigFile = join(tempDir('edge-config'), 'worker.yaml');
  writeFileSync(workerConfigFile, stringify(workerConfig));
  ({ client, close: closeClient } = await connectClient(server));
});

after(async () => {
  await closeClient?.();
  await worker?.stop();
  deps?.close();
  await server?.stop();
  await sshd.stop();
});

async function inProcessWorker() {
  deps = productionDeps(workerConfig);
  worker = await startWorker(server, deps);
}

async function stopInProcessWorker() {
  await worker?.stop();
  deps?.close();
  worker = undefined;
}

function sparkApp(name: string, overrides: { pollInterval?: string; maxRestarts?: number } = {}): AppConfig {
  const appName = `Edge ${name}`;
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name },
    spec: {
      yarn: {
        host: 'edge-1',
        appName,
        pollInterval: overrides.pollInterval ?? '500ms',
        unreachableTimeout: '10m',
        appearTimeout: '30s',
      },
      restartPolicy: {
        maxRestarts: overrides.maxRestarts ?? 3,
        backoff: { initial: '1s', factor: 2, max: '5s' },
      },
      steps: [
        {
          name: 'submit',
          ssh: double.submitStep(appName),
        },
      ],
    },
  });
  if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
  return result.config;
}

const running = (app: string, notId?: string | null) =>
  waitForStatus(
    client,
    app,
    `${app} Running`,
    (s) => s.phase === 'Running' && s.yarnAppId !== null && s.yarnAppId !== notId,
    60_000,
  );

describe('edge node, in-process worker', () => {
  before(inProcessWorker);
  after(stopInProcessWorker);

  test('submit -> RUNNING -> killed from outside -> restarted after the backoff -> RUNNING', async () => {
    await deployApp(client, TASK_QUEUE, sparkApp('roaming'));
    const first = await running('roaming');
    assert.deepEqual(
      double.live('Edge roaming').map((a) => a.id),
      [first.yarnAppId],
      'the id spark-submit printed is the one supervised',
    );
    const killedAt = Date.now();
    double.killFromOutside(first.yarnAppId!);
    const second = await running('roaming', first.yarnAppId);
    const resubmit = double.submits('Edge roaming').at(-1)!;
    assert.ok(resubmit.at - killedAt >= 1_000, 'resubmitted after the 1s backoff');
    assert.equal(second.restarts, 1);
    assert.match(
      second.attempts.at(-2)?.error ?? '',
      /ended FAILED\/FAILED: User class threw exception: java\.lang\.RuntimeException: boom/,
    );
    assert.equal(double.live('Edge roaming').length, 1, 'exactly one instance');
  });

  test('an app already running before the first deploy is adopted, not submitted again', async () => {
    const id = double.addRunning('Edge adopted');
    await deployApp(client, TASK_QUEUE, sparkApp('adopted'));
    const status = await running('adopted');
    assert.equal(status.yarnAppId, id);
    assert.equal(double.submits('Edge adopted').length, 0);
  });

  test('stop kills the app by id', async () => {
    await deployApp(client, TASK_QUEUE, sparkApp('stopme'));
    const status = await running('stopme');
    await appHandle(client, 'stopme').signal(stopSignal, {});
    await appHandle(client, 'stopme').result();
    assert.deepEqual(
      double
        .calls((c) => c.tool === 'yarn' && c.args[1] === '-kill')
        .map((c) => c.args[2])
        .filter((id) => id === status.yarnAppId),
      [status.yarnAppId],
    );
    const app = double.apps().find((a) => a.id === status.yarnAppId)!;
    assert.deepEqual([app.state, app.finalStatus], ['KILLED', 'KILLED']);
  });

  test('sshd down for longer than three poll intervals: Degraded, no restart; Running again when it returns', async () => {
    await deployApp(client, TASK_QUEUE, sparkApp('unreachable'));
    const before = await running('unreachable');
    const submits = double.submits('Edge unreachable').length;
    await sshd.stop();
    try {
      await waitForStatus(client, 'unreachable', 'Degraded', (s) => s.phase === 'Degraded', 30_000);
      await new Promise((r) => setTimeout(r, 4 * 500));
      const still = await queryStatus(client, 'unreachable');
      assert.equal(still.phase, 'Degraded');
      assert.match(still.lastError ?? '', /edge node edge-1 unreachable/);
    } finally {
      await sshd.start();
    }
    const back = await waitForStatus(
      client,
      'unreachable',
      'Running again',
      (s) => s.phase === 'Running',
      60_000,
    );
    assert.equal(back.yarnAppId, before.yarnAppId);
    assert.equal(back.restarts, 0);
    assert.equal(double.submits('Edge unreachable').length, submits, 'nothing resubmitted');
  });

  test('20 apps on one host cost one yarn -list per poll interval', async () => {
    // Only the fleet polls during the count.
    for (const other of ['roaming', 'adopted', 'unreachable'])
      await appHandle(client, other).signal(stopSignal, { leaveRunning: true });
    const stopsSent = Date.now();
    const names = Array.from({ length: 20 }, (_, i) => `fleet-${i}`);
    for (const name of names) await deployApp(client, TASK_QUEUE, sparkApp(name, { pollInterval: '1s' }));
    for (const name of names) await running(name);
    // A stopped app's supervision (not waited for by the stop) hears of it at its next heartbeat, two thirds of
    // its heartbeat timeout (15 s here) after the last: until then it still asks the poller every 500 ms.
    await new Promise((r) => setTimeout(r, Math.max(0, stopsSent + 11_000 - Date.now())));
    const windowMs = 6_000;
    const since = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const lists = double.listCalls(since).length;
    // One per 1s interval (+1 for a window edge); per-app polling would be 20 times that.
    assert.ok(lists <= windowMs / 1_000 + 1, `${lists} yarn -list calls in ${windowMs} ms for 20 apps`);
    assert.ok(lists >= 3, `the poller ran (${lists} calls)`);
    for (const name of names) await appHandle(client, name).signal(stopSignal, { leaveRunning: true });
  });
});

describe('edge node, worker process', () => {
  const children: ChildProcess[] = [];
  after(() => children.forEach((c) => c.kill('SIGKILL')));

  function kappaWorker(): Promise<ChildProcess> {
    const child = spawn(
      join(__dirname, '..', '..', 'bin', 'kappa'),
      ['--worker-config', workerConfigFile, 'worker'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let output = '';
    return new Promise((resolve, reject) => {
      const onData = (d: Buffer) => {
        output += d.toString();
        if (output.includes('kappa worker: task queue')) resolve(child);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`kappa worker exited with ${code}: ${output}`)));
    });
  }

  test('a kappa worker killed with SIGKILL during supervision is replaced: same app id, no resubmission', async () => {
    const first = await kappaWorker();
    await deployApp(client, TASK_QUEUE, sparkApp('survivor'));
    const status = await running('survivor');
    await waitFor('supervision polling', () => double.listCalls(Date.now() - 1_000).length > 0);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const killedAt = Date.now();
    await kappaWorker();
    // The new worker picks the supervision up after the heartbeat timeout and polls again.
    await waitFor('the new worker polling', () => double.listCalls(killedAt + 1_000).length > 2, 90_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const after = await queryStatus(client, 'survivor');
    assert.deepEqual([after.phase, after.yarnAppId, after.restarts], ['Running', status.yarnAppId, 0]);
    assert.equal(double.submits('Edge survivor').length, 1, 'no resubmission');
    // And it really supervises: an outside kill is noticed and the app restarted by the new worker.
    double.killFromOutside(status.yarnAppId!);
    const restarted = await running('survivor', status.yarnAppId);
    assert.equal(restarted.restarts, 1);
    await appHandle(client, 'survivor').signal(stopSignal, {});
    await appHandle(client, 'survivor').result();
  });
});

describe('build-and-submit pod, then YARN supervision', () => {
  const api = new FakeApiServer();
  let stopKubelet = () => undefined as void;

  before(async () => {
    await api.start();
    process.env.KUBECONFIG = api.kubeconfig; // what the production worker reads
    await inProcessWorker();
    stopKubelet = playKubelet(api, double);
  });
  after(async () => {
    stopKubelet();
    await stopInProcessWorker();
    await api.stop();
    delete process.env.KUBECONFIG;
  });

  test('a StreamingApp whose pod builds and spark-submits reaches Running, supervised over SSH', async () => {
    const appName = 'Edge pod-app';
    const result = validateAppConfig({
      apiVersion: 'kappa/v1',
      kind: 'StreamingApp',
      metadata: { name: 'pod-app' },
      spec: {
        yarn: { host: 'edge-1', appName, pollInterval: '500ms', appearTimeout: '30s' },
        restartPolicy: { backoff: { initial: '1s' } },
        steps: [
          {
            name: 'build-and-submit',
            pod: {
              image: 'registry.example.com/spark-submit:3.5.1',
              command: ['spark-submit'],
              args: [
                '--master',
                'yarn',
                '--deploy-mode',
                'cluster',
                '--name',
                appName,
                '--conf',
                'spark.yarn.submit.waitAppCompletion=false',
                '/artifacts/app.jar',
              ],
              env: { HADOOP_CONF_DIR: '/etc/hadoop/conf' },
              initContainers: [{ name: 'build', image: 'sbt:1.7', command: ['sh', '-c', 'sbt assembly'] }],
              sidecars: [{ name: 'kinit', image: 'kinit:1.0' }],
              keepPod: 'never',
            },
          },
        ],
      },
    });
    assert.ok(result.ok);
    await deployApp(client, TASK_QUEUE, result.config);
    const status = await running('pod-app');
    assert.deepEqual(
      double.live(appName).map((a) => a.id),
      [status.yarnAppId],
      'the id spark-submit printed in the pod is supervised',
    );
    const { runId } = await appHandle(client, 'pod-app').describe();
    const pod = podName('pod-app', 'build-and-submit', 1, runId);
    assert.ok(
      api.requests.includes(`DELETE /api/v1/namespaces/spark-jobs/pods/${pod}`),
      `${pod} was deleted: ${api.requests.join(', ')}`,
    );
    await waitFor('the pod deleted (keepPod never)', () => !api.podNames().includes(pod));
    // And a restart builds a new pod for the new attempt.
    double.killFromOutside(status.yarnAppId!);
    const again = await running('pod-app', status.yarnAppId);
    assert.equal(again.restarts, 1);
    assert.ok(api.requests.includes('POST /api/v1/namespaces/spark-jobs/pods'));
    await appHandle(client, 'pod-app').signal(stopSignal, {});
    await appHandle(client, 'pod-app').result();
  });
});

/**
 * Plays the kubelet for every new pod: sidecar and build run, then the main container runs — through the
 * yarn double's spark-submit, with the pod's args and env — and its output becomes the container log.
 */
function playKubelet(api: FakeApiServer, yarn: YarnDouble): () => void {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const name of api.podNames()) {
      if (seen.has(name)) continue;
      seen.add(name);
      const pod = api.pod('spark-jobs', name)!;
      const main = pod.spec!.containers[0]!;
      const k = api.kubelet;
      k.container('spark-jobs', name, 'kinit', { running: {} });
      k.container('spark-jobs', name, 'build', { running: {} });
      k.log('spark-jobs', name, 'build', '[success] Total time: 95 s');
      k.container('spark-jobs', name, 'build', { terminated: { exitCode: 0, reason: 'Completed' } });
      k.container('spark-jobs', name, 'main', { running: {} });
      const env = Object.fromEntries(
        (main.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]),
      );
      execFile(
        yarn.sparkSubmit,
        main.args ?? [],
        { env: { ...process.env, ...env } },
        (err, stdout, stderr) => {
          for (const line of `${stdout}${stderr}`.split('\n').filter(Boolean))
            k.log('spark-jobs', name, 'main', line);
          const exitCode = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          k.container('spark-jobs', name, 'main', {
            terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' },
          });
          k.update('spark-jobs', name, (s) => (s.phase = exitCode === 0 ? 'Succeeded' : 'Failed'));
        },
      );
    }
  }, 100);
  return () => clearInterval(timer);
}

describe('observability of a kappa worker process', () => {
  test('Prometheus metrics (SDK + kappa_*) and JSON logs with app and workflow id', async () => {
    const port = await freePort();
    const config = join(tempDir('metrics'), 'worker.yaml');
    writeFileSync(config, stringify({ ...workerConfig, metrics: { port } }));
    const child = spawn(join(__dirname, '..', '..', 'bin', 'kappa'), ['--worker-config', config, 'worker'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor('worker ready', () => stderr.includes(`metrics on :${port}/metrics`), 60_000);
      await deployApp(client, TASK_QUEUE, sparkApp('observed'));
      const first = await running('observed');
      double.killFromOutside(first.yarnAppId!);
      await running('observed', first.yarnAppId);
      const metrics = await waitFor(
        'kappa metrics exported',
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return /kappa_app_restarts_total\{[^}]*app="observed"[^}]*\} 1/.test(text) &&
            /kappa_app_up\{[^}]*app="observed"[^}]*\} 1/.test(text)
            ? text
            : undefined;
        },
        30_000,
      );
      assert.match(metrics, /kappa_supervision_poll_seconds_(bucket|count)\{[^}]*host="edge-1"/);
      assert.match(
        metrics,
        /temporal_activity_execution_latency|temporal_workflow_task_execution_latency|temporal_request/,
      );
      const lines = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const stepLine = lines.find(
        (l) =>
          l.app === 'observed' && l.step === 'submit' && String(l.msg).includes('Submitting application'),
      );
      assert.ok(stepLine, 'the step output is logged as JSON with app and step');
      assert.equal(stepLine.workflowId, 'kappa/observed');
      assert.equal(typeof stepLine.attempt, 'number');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await appHandle(client, 'observed').signal(stopSignal, {});
  });
});
