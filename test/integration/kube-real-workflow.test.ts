// Pod steps end to end on the real tier: `kappa worker` processes (KUBECONFIG = the kappa-worker ServiceAccount
// of config/kubernetes/rbac.yaml) on a real Temporal dev server, a real kube-apiserver + etcd whose namespace
// enforces PodSecurity `restricted`, the test kubelet, and an sshd edge node with the yarn double for the
// supervision that follows the pod. What it shows: a worker killed (SIGKILL) or stopped (SIGTERM) mid-step
// hands its pod to the next worker, which reattaches (one pod, one submit); a pod whose worker died is ended by
// the kubelet at activeDeadlineSeconds and the failure says so; `kappa stop` reports Stopped only once the pod
// is gone; a pod without `securityProfile: restricted` is refused there with the server's reason.
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { formatIssue } from '../../src/config/issues.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { podName } from '../../src/kubernetes/pod-manifest.js';
import type { DevServer } from '../../src/temporal/dev-server.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import {
  appHandle,
  connectClient,
  queryStatus,
  startServer,
  tempDir,
  waitFor,
  waitForStatus,
} from '../support/harness.js';
import { Sshd } from '../support/sshd.js';
import { TestKubelet, type ContainerScript } from '../support/test-kubelet.js';
import { YarnDouble } from '../support/yarn-double.js';
import { spawnOwned } from '../support/owned-spawn.js';

const run = promisify(execFile);
const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');
const NS = 'spark-jobs';
const STEP = 'build-and-submit';

const sshd = new Sshd();
let server: DevServer;
let kube: KubeApiServer;
let kubelet: TestKubelet;
let double: YarnDouble;
let client: Client;
let closeClient: () => Promise<void>;
let workerConfigFile: string;
const workers: ChildProcess[] = [];

before(
  async () => {
    [kube, server] = await Promise.all([startKubeApiServer({ namespace: NS }), startServer(), sshd.start()]);
    // Every pod of this file is created in a namespace that enforces the `restricted` Pod Security Standard.
    const ns = await kube.adminCore.readNamespace({ name: NS });
    ns.metadata!.labels = { ...ns.metadata!.labels, 'pod-security.kubernetes.io/enforce': 'restricted' };
    await kube.adminCore.replaceNamespace({ name: NS, body: ns });
    kubelet = new TestKubelet({ admin: kube.admin, namespace: NS, tls: kube.tls, stepMs: 50, pollMs: 100 });
    await kubelet.start();
    double = new YarnDouble(tempDir('kube-wf-double'));
    workerConfigFile = join(tempDir('kube-wf-config'), 'worker.yaml');
    writeFileSync(
      workerConfigFile,
      stringify({
        temporal: { address: server.address },
        kubernetes: { namespace: NS, serviceAccount: 'kappa-submitter' },
        hosts: { 'edge-1': await sshd.hostConfig(double.yarn) },
        metrics: { port: 0 },
        shutdownGraceTime: '1s',
      }),
    );
    ({ client, close: closeClient } = await connectClient(server));
  },
  { timeout: 30 * 60_000 },
);

after(async () => {
  workers.forEach((w) => w.kill('SIGKILL'));
  await closeClient?.();
  await kubelet?.stop();
  await Promise.all([kube?.stop(), server?.stop(), sshd.stop()]);
});

interface KappaWorker {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A `kappa worker` process acting as the kappa-worker ServiceAccount. */
async function kappaWorker(): Promise<KappaWorker> {
  const child = spawnOwned(KAPPA, ['--worker-config', workerConfigFile, 'worker'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, KUBECONFIG: kube.kubeconfigPath },
  });
  workers.push(child);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await Promise.race([
    waitFor('the kappa worker up', () => output.includes('kappa worker: task queue'), 60_000),
    exited.then((code) => {
      throw new Error(`kappa worker exited with ${code}: ${output}`);
    }),
  ]);
  return { child, output: () => output, exited };
}

/**
 * Waits for `text` in the worker's output; a timeout shows the output's end. The retried step finds its pod from
 * the last heartbeat ("reattaching") or, when the dead worker's last heartbeat had not gone out, by its
 * deterministic name ("adopted").
 */
async function waitForLog(worker: KappaWorker, text: RegExp, timeoutMs = 60_000): Promise<void> {
  await waitFor(`${text} in the worker log`, () => text.test(worker.output()), timeoutMs).catch(
    (err: Error) => {
      throw new Error(`${err.message}; the worker log ends:\n${worker.output().slice(-4_000)}`);
    },
  );
}

async function killWorker(worker: KappaWorker, signal: NodeJS.Signals): Promise<void> {
  worker.child.kill(signal);
  await worker.exited;
}

function podApp(
  name: string,
  options: { timeout?: string; restricted?: boolean; maxRestarts?: number } = {},
): AppConfig {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name },
    spec: {
      yarn: { host: 'edge-1', appName: `Pod ${name}`, pollInterval: '500ms', appearTimeout: '30s' },
      restartPolicy: { maxRestarts: options.maxRestarts ?? 3, backoff: { initial: '1s' } },
      steps: [
        {
          name: STEP,
          pod: {
            image: 'registry.example.com/spark-submit:4.0.1',
            command: ['spark-submit'],
            args: ['--master', 'yarn', '--deploy-mode', 'cluster', '/artifacts/app.jar'],
            initContainers: [{ name: 'build', image: 'sbt:1.10', command: ['sbt', 'assembly'] }],
            timeout: options.timeout ?? '5m',
            ...(options.restricted === false ? {} : { securityProfile: 'restricted' }),
          },
        },
      ],
    },
  });
  if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
  return result.config;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => undefined as void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** The lines a real spark-submit prints for `appId` (log4j, on stderr; the container log has both streams). */
const submitted = (appId: string) => [
  `26/11/26 14:00:02 INFO Client: Submitting application ${appId} to ResourceManager`,
  `26/11/26 14:00:02 INFO YarnClientImpl: Submitted application ${appId}`,
];

const podsOf = (app: string) => kubelet.ran.filter((name) => name.startsWith(`${app}-`));
const readPod = (name: string) => kube.adminCore.readNamespacedPod({ namespace: NS, name });
const status = (err: unknown) => (err as { code?: number }).code;
async function podPhase(name: string): Promise<string | undefined> {
  return (await readPod(name)).status?.containerStatuses?.[0]?.state?.running ? 'main running' : undefined;
}

/** Deploys `config`; returns the name its first pod has (deterministic from the workflow run). */
async function deploy(config: AppConfig): Promise<string> {
  await deployApp(client, TASK_QUEUE, config);
  const { runId } = await appHandle(client, config.metadata.name).describe();
  return podName(config.metadata.name, STEP, 1, runId);
}

async function stopApp(app: string): Promise<void> {
  await appHandle(client, app).signal(stopSignal, {});
  await appHandle(client, app).result();
}

/** A pod app deployed with a first worker, its pod's main container running until `finish` releases it. */
async function midStep(app: string) {
  const release = deferred();
  const main: ContainerScript = { until: release.promise };
  kubelet.scriptPrefix(`${app}-`, { main });
  const first = await kappaWorker();
  const pod = await deploy(podApp(app));
  await waitFor(`${pod}: main running`, () => podPhase(pod), 30_000);
  /** Once `next` has found the pod, main prints a submitted app and exits 0; resolves with the app Running. */
  const finish = async (next: KappaWorker) => {
    await waitForLog(next, new RegExp(`(reattaching to|adopted) pod ${NS}/${pod}`));
    const appId = double.addRunning(`Pod ${app}`);
    main.laterLog = submitted(appId);
    release.resolve();
    const running = await waitForStatus(client, app, 'Running', (s) => s.phase === 'Running', 60_000);
    assert.equal(running.yarnAppId, appId, 'the id printed in the pod it found is supervised');
    assert.deepEqual(podsOf(app), [pod], 'one pod for the attempt, created once');
    assert.equal(double.submits(`Pod ${app}`).length, 0, 'nothing submitted over SSH');
  };
  return { first, pod, finish };
}

describe('pod steps through Temporal on the real API server', () => {
  test('worker SIGKILLed mid-step: the next worker reattaches to the same pod; one pod, one app', async () => {
    const app = 'reattach';
    const { first, pod, finish } = await midStep(app);
    await killWorker(first, 'SIGKILL');
    const second = await kappaWorker();
    // The retried step runs once the dead worker's heartbeat times out (15 s), and finds the pod.
    await finish(second);
    await waitFor(`${pod} deleted after the step`, () =>
      readPod(pod).then(
        () => false,
        (e) => status(e) === 404,
      ),
    );
    await stopApp(app);
    await killWorker(second, 'SIGTERM');
  });

  test('worker stopped (SIGTERM) mid-step: its pod is left for the next worker, not deleted', async () => {
    const app = 'handover';
    const { first, pod, finish } = await midStep(app);
    await killWorker(first, 'SIGTERM');
    assert.match(first.output(), new RegExp(`leaving pod ${NS}/${pod} for the next worker`));
    const left = await readPod(pod);
    assert.equal(left.metadata?.deletionTimestamp, undefined, 'the pod is not being deleted');
    const second = await kappaWorker();
    await finish(second);
    await stopApp(app);
    await killWorker(second, 'SIGTERM');
  });

  test('no worker left: the kubelet ends the pod at activeDeadlineSeconds, and the failure says DeadlineExceeded', async () => {
    const app = 'deadline';
    kubelet.scriptPrefix(`${app}-`, { main: { untilDeleted: true } });
    const first = await kappaWorker();
    const pod = await deploy(podApp(app, { timeout: '6s', maxRestarts: 0 }));
    await waitFor(`${pod}: main running`, () => podPhase(pod), 30_000);
    assert.equal((await readPod(pod)).spec?.activeDeadlineSeconds, 6);
    await killWorker(first, 'SIGKILL');
    const ended = await waitFor(
      `${pod} Failed`,
      async () => {
        const p = await readPod(pod);
        return p.status?.phase === 'Failed' ? p : undefined;
      },
      30_000,
    );
    assert.equal(ended.status?.reason, 'DeadlineExceeded');
    const second = await kappaWorker();
    const failed = await waitForStatus(client, app, 'Failed', (s) => s.phase === 'Failed', 90_000);
    assert.match(
      failed.lastError ?? '',
      /pod failed \(DeadlineExceeded\): Pod was active on the node longer than the specified deadline/,
    );
    assert.deepEqual(podsOf(app), [pod], 'the dead pod was not created again');
    await killWorker(second, 'SIGTERM');
  });

  test('kappa stop during a pod step: Stopped only once the pod is gone (404), not while it terminates', async () => {
    const app = 'stop-waits';
    kubelet.scriptPrefix(`${app}-`, { main: { untilDeleted: true } }, { deletion: { delayMs: 4_000 } });
    const worker = await kappaWorker();
    const pod = await deploy(podApp(app));
    await waitFor(`${pod}: main running`, () => podPhase(pod), 30_000);
    const started = Date.now();
    const { stdout } = await run(KAPPA, ['--worker-config', workerConfigFile, 'stop', app], {
      env: { ...process.env, CI: 'true' },
    });
    const tookMs = Date.now() - started;
    assert.match(stdout, new RegExp(`${app}: Stopped`));
    await assert.rejects(readPod(pod), (e) => status(e) === 404, 'the pod is gone when Stopped is printed');
    assert.ok(tookMs >= 4_000, `stop waited for the kubelet to confirm the deletion (${tookMs} ms)`);
    assert.equal((await queryStatus(client, app)).phase, 'Stopped');
    await killWorker(worker, 'SIGTERM');
  });

  test('a pod step without securityProfile: refused by PodSecurity restricted, the failure carries the reason', async () => {
    const app = 'unrestricted';
    const worker = await kappaWorker();
    await deploy(podApp(app, { restricted: false, maxRestarts: 0 }));
    const failed = await waitForStatus(client, app, 'Failed', (s) => s.phase === 'Failed', 60_000);
    assert.match(failed.lastError ?? '', /violates PodSecurity "restricted:latest"/);
    assert.deepEqual(podsOf(app), [], 'no pod was created');
    await killWorker(worker, 'SIGTERM');
  });
});
