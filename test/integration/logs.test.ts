// `kappa logs APP` (bin/kappa as a user runs it) against a real Temporal dev server, a worker on a real sshd edge
// node with the yarn double, and the loopback API server for a pod step: the last step's output from the
// workflow's history, a kept pod's whole log from Kubernetes, and with --yarn `yarn logs` over SSH — bounded,
// followed while the app runs, and the real answers of a cluster without log aggregation and of an unknown id.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE, workflowId } from '../../src/common/temporal-names.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { kubeClients } from '../../src/kubernetes/clients.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { startEdgeBed, type EdgeBed } from '../support/edge-bed.js';
import { KAPPA } from '../support/kappa-cli.js';
import * as harness from '../support/harness.js';
import type { YarnDouble } from '../support/yarn-double.js';

const api = new FakeApiServer();
let bed: EdgeBed;
let client: Client;
let double: YarnDouble;
let configFile: string;

before(async () => {
  await api.start();
  process.env.KUBECONFIG = api.kubeconfig; // the worker's pod steps, and the CLI's pod logs
  bed = await startEdgeBed({ kubernetes: { namespace: 'spark-jobs' } });
  ({ client, double, configFile } = bed);
});

after(async () => {
  await bed?.close();
  await api.stop();
  delete process.env.KUBECONFIG;
});

const kappa = (...args: string[]) => bed.kappa(...args);

const running = (app: string) =>
  harness.waitForStatus(client, app, `${app} Running`, (s) => s.phase === 'Running', 60_000);

/** A StreamingApp on edge-1 whose one step is `step`, that fails at once when the step does (no restarts). */
function withNoRestarts(name: string, step: Record<string, unknown>) {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name },
    spec: {
      yarn: { host: 'edge-1', appName: `Logs ${name}` },
      restartPolicy: { maxRestarts: 0 },
      steps: [step],
    },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  return result.config;
}

function aggregation(on: boolean): void {
  const marker = join(double.stateDir, 'log-aggregation');
  if (on) writeFileSync(marker, '');
  else rmSync(marker, { force: true });
}

describe('kappa logs', { concurrency: true }, () => {
  test('an unknown app: exit 1, named', async () => {
    const ran = await kappa('logs', 'no-such-app');
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /unknown app "no-such-app"/);
  });

  test("a running app: its ssh step's output; --yarn: YARN's refusal without log aggregation, then the logs, bounded and followed", async () => {
    await deployApp(
      client,
      TASK_QUEUE,
      double.streamingApp('streamer', 'Logs streamer', { pollInterval: '1s' }),
    );
    const { yarnAppId } = await running('streamer');
    const step = await kappa('logs', 'streamer');
    assert.equal(step.code, 0, step.stderr);
    assert.match(step.stderr, /step "submit" \(ssh on edge-1\), attempt 1, succeeded/);
    assert.match(
      step.stdout,
      new RegExp(`INFO Client: Submitting application ${yarnAppId} to ResourceManager`),
    );

    const refused = await kappa('logs', 'streamer', '--yarn');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /YARN has no logs of application_\d+_\d+: log aggregation is off/);
    assert.match(refused.stderr, /Can not find the logs for the application: .* with the appOwner:/);

    aggregation(true);
    await new Promise((r) => setTimeout(r, 2_000)); // a log line a second
    const logs = await kappa('logs', 'streamer', '--yarn');
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stderr, new RegExp(`yarn logs -applicationId ${yarnAppId} on edge-1`));
    assert.match(logs.stdout, /^Container: container_e01_\d+_\d+_01_000001 on worker-3:45454$/m);
    assert.match(logs.stdout, /Streaming query made progress: Logs streamer batch 1$/m);
    const bounded = await kappa('logs', 'streamer', '--yarn', '--limit-bytes', '300');
    assert.ok(Buffer.byteLength(bounded.stdout) < 400, bounded.stdout);
    assert.match(bounded.stdout, /^\[kappa: \d+ earlier bytes not shown; --limit-bytes 300\]/);

    const follow = spawn(KAPPA, [
      '--worker-config',
      configFile,
      'logs',
      'streamer',
      '--yarn',
      '-f',
      '--interval',
      '1s',
    ]);
    let out = '';
    let err = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    follow.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => follow.once('exit', r));
    // What each file gained since the last read, under its container and file.
    await harness.waitFor(
      'new lines followed',
      () => /^==> container_e01_\S+_000001 stderr <==$/m.test(out),
      30_000,
    );
    const batches = [...out.matchAll(/made progress: Logs streamer batch (\d+)$/gm)].map((m) => Number(m[1]));
    assert.ok(batches.length >= 3, out);
    assert.deepEqual(
      batches,
      [...new Set(batches)].sort((a, b) => a - b),
      'each line once, in order',
    );
    await client.workflow.getHandle(workflowId('streamer')).signal(stopSignal, {});
    assert.equal(await exited, 0, err);
    assert.match(err, /is not running any more \(phase Stop\w+\); stopped following/);
    aggregation(false);
  });

  test('a failed ssh step: its output tail and failure; --yarn --app-id of an id YARN does not know: exit 1', async () => {
    await deployApp(
      client,
      TASK_QUEUE,
      withNoRestarts('broken', {
        name: 'build',
        ssh: { host: 'edge-1', command: ['sh', '-c', 'echo compiling; echo "error: no jar" >&2; exit 3'] },
      }),
    );
    await harness.waitForStatus(client, 'broken', 'broken Failed', (s) => s.phase === 'Failed', 60_000);
    const ran = await kappa('logs', 'broken');
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /step "build" \(ssh on edge-1\), attempt 1, failed .*exited with code 3/);
    assert.match(ran.stdout, /compiling\n/);
    assert.match(ran.stdout, /error: no jar\n/);
    const unknown = await kappa('logs', 'broken', '--yarn', '--app-id', 'application_1700000000000_9999');
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /YARN on edge-1 does not know application_1700000000000_9999: Could not locate application logs/,
    );
  });

  test("a failed pod step whose pod is kept: the pod's whole log from Kubernetes; once the pod is gone, the tail", async () => {
    const stopKubelet = failingKubelet();
    try {
      const pod = {
        image: 'registry.example.com/spark-submit:4.0.1',
        command: ['spark-submit'],
        initContainers: [{ name: 'build', image: 'sbt:1.7' }],
        keepPod: 'onFailure',
      };
      await deployApp(client, TASK_QUEUE, withNoRestarts('podlogs', { name: 'submit', pod }));
      await harness.waitForStatus(client, 'podlogs', 'podlogs Failed', (s) => s.phase === 'Failed', 60_000);
      const ran = await kappa('logs', 'podlogs');
      assert.equal(ran.code, 0, ran.stderr);
      assert.match(ran.stderr, /step "submit" \(pod\), attempt 1, failed/);
      assert.match(ran.stdout, /^==> podlogs-submit-1-\w+ build <==\n\[success\] Total time: 95 s$/m);
      assert.match(ran.stdout, /^main line 1 of 400$/m, 'the whole log, more than the tail Kappa keeps');
      assert.match(ran.stdout, /^main line 400 of 400$/m);

      const [name] = api.podNames().filter((n) => n.startsWith('podlogs-'));
      await kubeClients(api.kubeconfig).core.deleteNamespacedPod({ namespace: 'spark-jobs', name: name! });
      await harness.waitFor('the pod gone', () => !api.podNames().includes(name!));
      const tail = await kappa('logs', 'podlogs');
      assert.equal(tail.code, 0, tail.stderr);
      assert.match(
        tail.stderr,
        /cannot read pod spark-jobs\/podlogs-submit-1-\w+: .*404.*the tail Kappa kept/,
      );
      assert.match(tail.stdout, /main line 400 of 400\n$/);
      assert.doesNotMatch(tail.stdout, /^main line 1 of 400$/m);
    } finally {
      stopKubelet();
    }
  });

  test("a running pod step, followed: its main container's log as it comes, until the container ends", async () => {
    const kubelet = slowKubelet();
    try {
      const pod = { image: 'registry.example.com/spark-submit:4.0.1', command: ['spark-submit'] };
      await deployApp(client, TASK_QUEUE, withNoRestarts('slowpod', { name: 'submit', pod }));
      await harness.waitFor('the pod logging', () => kubelet.lines() > 0, 60_000);
      const follow = spawn(KAPPA, ['--worker-config', configFile, 'logs', 'slowpod', '-f']);
      let out = '';
      let err = '';
      follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
      follow.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<number | null>((r) => follow.once('exit', r));
      await harness.waitFor('lines followed', () => /^slow line 3$/m.test(out), 60_000);
      assert.match(err, /step "submit" \(pod\), attempt 1, running since/);
      kubelet.finish();
      assert.equal(await exited, 0, err);
      const lines = out.trim().split('\n');
      assert.deepEqual(
        lines,
        lines.map((_, i) => `slow line ${i + 1}`),
        'every line once, in order',
      );
      assert.ok(lines.length >= 3);
    } finally {
      kubelet.stop();
    }
  });
});

/** The kubelet for a pod whose main container logs a line every 300 ms until `finish()`, then exits 1. */
function slowKubelet() {
  let name: string | undefined;
  let line = 0;
  const timer = setInterval(() => {
    name ??= api.podNames().find((n) => n.startsWith('slowpod-'));
    if (!name) return;
    if (line === 0) api.kubelet.container('spark-jobs', name, 'main', { running: {} });
    api.kubelet.log('spark-jobs', name, 'main', `slow line ${++line}`);
  }, 300);
  return {
    finish: () => {
      clearInterval(timer);
      api.kubelet.container('spark-jobs', name!, 'main', { terminated: { exitCode: 1, reason: 'Error' } });
      api.kubelet.update('spark-jobs', name!, (s) => (s.phase = 'Failed'));
    },
    stop: () => clearInterval(timer),
    lines: () => line,
  };
}

/** Plays the kubelet for the pod step: the build succeeds, the main container logs 400 lines and exits 1. */
function failingKubelet(): () => void {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const name of api.podNames().filter((n) => n.startsWith('podlogs-') && !seen.has(n))) {
      seen.add(name);
      const k = api.kubelet;
      k.container('spark-jobs', name, 'build', { running: {} });
      k.log('spark-jobs', name, 'build', '[success] Total time: 95 s');
      k.container('spark-jobs', name, 'build', { terminated: { exitCode: 0, reason: 'Completed' } });
      k.container('spark-jobs', name, 'main', { running: {} });
      for (let i = 1; i <= 400; i++) k.log('spark-jobs', name, 'main', `main line ${i} of 400`);
      k.container('spark-jobs', name, 'main', { terminated: { exitCode: 1, reason: 'Error' } });
      k.update('spark-jobs', name, (s) => (s.phase = 'Failed'));
    }
  }, 100);
  return () => clearInterval(timer);
}
