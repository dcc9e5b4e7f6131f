// Model services (`service` steps, issue #14) end to end on the real tier: `kappa worker` processes (KUBECONFIG =
// the kappa-worker ServiceAccount of config/kubernetes/rbac.yaml) on a real Temporal dev server, a real
// kube-apiserver + etcd + kube-controller-manager (so a Deployment really makes ReplicaSets and pods, rolls out and
// reports Available), the test kubelet running the model's pods by image (ready, never ready, unpullable), and an
// sshd edge node with the yarn double, where the stream's ssh step runs spark-submit with the model's address
// (`--conf spark.kappa.modelUrl=${steps.model.url}`). What it shows: the stream is submitted only once its model
// is Available, with the address Kappa resolved; a model that never gets ready or cannot be pulled fails the step
// with the pods' reason; a new revision rolls the model before the stream is resubmitted; a stream restart from
// `submit` leaves the model alone; supervision puts a deleted Deployment back and reports an unavailable model as
// Degraded without touching the stream; `kappa stop` deletes the model's objects (not with --leave-running); a
// worker killed mid-rollout leaves one of everything.
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { AppsV1Api, type V1Deployment, type V1Pod, type V1ReplicaSet } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { formatIssue } from '../../src/config/issues.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { isAvailable, REVISION_ANNOTATION } from '../../src/kubernetes/service-judge.js';
import { serviceObjectName, serviceStepRefs } from '../../src/kubernetes/service-manifest.js';
import type { DevServer } from '../../src/temporal/dev-server.js';
import type { AppStatus } from '../../src/workflows/types.js';
import { appHandle, connectClient, queryStatus, startServer, tempDir, waitFor } from '../support/harness.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { Sshd } from '../support/sshd.js';
import { TestKubelet } from '../support/test-kubelet.js';
import { YarnDouble, type DoubleCall } from '../support/yarn-double.js';
import { spawnOwned } from '../support/owned-spawn.js';

const run = promisify(execFile);
const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');
const NS = 'spark-jobs';
const PORT = 8080;
const STEP = 'model';

/** The model's image of an app (each app its own, so a test can change how its pods behave). */
const modelImage = (app: string, tag = 'v1') => `registry.test/models/${app}:${tag}`;

const sshd = new Sshd();
let server: DevServer;
let kube: KubeApiServer;
let kubelet: TestKubelet;
let apps: AppsV1Api;
let double: YarnDouble;
let client: Client;
let closeClient: () => Promise<void>;
let workerConfigFile: string;
/** The worker every test but the last shares. */
let shared: KappaWorker;
const workers: ChildProcess[] = [];

before(
  async () => {
    [kube, server] = await Promise.all([
      startKubeApiServer({ namespace: NS, controllerManager: true }),
      startServer(),
      sshd.start(),
    ]);
    apps = kube.admin.makeApiClient(AppsV1Api);
    kubelet = new TestKubelet({
      admin: kube.admin,
      namespace: NS,
      tls: kube.tls,
      stepMs: 50,
      pollMs: 100,
      backOffMs: 300,
      images: {
        [modelImage('unready')]: { kind: 'never-ready' },
        [modelImage('unpullable')]: { kind: 'pull-error' },
        // The new revision's model takes a while to get ready: the stream must wait for it.
        [modelImage('rolling', 'v2')]: { kind: 'ready', afterMs: 4_000 },
        // Ready only after the worker running its step has been killed.
        [modelImage('handover')]: { kind: 'ready', afterMs: 8_000 },
      },
    });
    await kubelet.start();
    double = new YarnDouble(tempDir('service-wf-double'));
    workerConfigFile = join(tempDir('service-wf-config'), 'worker.yaml');
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
    shared = await kappaWorker();
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

/** The YARN name of an app's stream. */
const streamName = (app: string) => `Scoring ${app}`;

/**
 * A StreamingApp `name`: step `model` serves the model (a Deployment + ClusterIP Service, ready once its readiness
 * probe passes), step `submit` spark-submits the stream on the edge node with the model's URL.
 */
function modelApp(
  name: string,
  options: {
    image?: string;
    timeout?: string;
    unavailableTimeout?: string;
    maxRestarts?: number;
    from?: string;
  } = {},
): AppConfig {
  const appName = streamName(name);
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name },
    spec: {
      yarn: {
        host: 'edge-1',
        appName,
        pollInterval: '500ms',
        unreachableTimeout: '10m',
        appearTimeout: '30s',
      },
      restartPolicy: {
        maxRestarts: options.maxRestarts ?? 3,
        backoff: { initial: '1s', factor: 2, max: '5s' },
        ...(options.from ? { from: options.from } : {}),
      },
      steps: [
        {
          name: STEP,
          service: {
            image: options.image ?? modelImage(name),
            args: ['--model', '/models/fraud-gbt', '--port', String(PORT)],
            port: PORT,
            readinessProbe: { httpGet: { path: '/v2/health/ready' }, period: '1s' },
            timeout: options.timeout ?? '30s',
            unavailableTimeout: options.unavailableTimeout ?? '10s',
          },
        },
        {
          name: 'submit',
          ssh: {
            host: 'edge-1',
            command: [
              double.sparkSubmit,
              ...['--master', 'yarn', '--deploy-mode', 'cluster', '--name', appName],
              ...['--conf', 'spark.yarn.submit.waitAppCompletion=false'],
              ...['--conf', 'spark.kappa.modelUrl=${steps.model.url}'],
              ...['--class', 'com.example.payments.ScoreStream', '/apps/score-stream.jar'],
            ],
            env: { HADOOP_CONF_DIR: '/etc/hadoop/conf' },
            timeout: '2m',
          },
        },
      ],
    },
  });
  if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
  return result.config;
}

/** Where the stream must be told the model answers: what serviceStepRefs computes for the worker's namespace. */
function modelUrl(config: AppConfig): string {
  const url = serviceStepRefs(config.metadata.name, config.spec.steps, { namespace: NS })[STEP]?.url;
  assert.ok(url);
  return url;
}

const objectName = (app: string) => serviceObjectName(app, STEP);
const byApp = (app: string) => ({ namespace: NS, labelSelector: `kappa.dev/app=${app}` });
const code = (err: unknown) => (err as { code?: number }).code;
const gone = (read: Promise<unknown>) =>
  read.then(
    () => false,
    (err) => code(err) === 404,
  );

const readDeployment = (app: string) =>
  apps.readNamespacedDeployment({ namespace: NS, name: objectName(app) });
const readService = (app: string) =>
  kube.adminCore.readNamespacedService({ namespace: NS, name: objectName(app) });

/** The app's Deployments, Services, ReplicaSets and (not terminating) pods, as the admin lists them. */
async function objectsOf(app: string): Promise<{
  deployments: V1Deployment[];
  services: string[];
  replicaSets: V1ReplicaSet[];
  pods: V1Pod[];
}> {
  const [d, s, rs, p] = await Promise.all([
    apps.listNamespacedDeployment(byApp(app)),
    kube.adminCore.listNamespacedService(byApp(app)),
    apps.listNamespacedReplicaSet(byApp(app)),
    kube.adminCore.listNamespacedPod(byApp(app)),
  ]);
  return {
    deployments: d.items,
    services: s.items.map((x) => x.metadata!.name!),
    replicaSets: rs.items,
    pods: p.items.filter((pod) => !pod.metadata?.deletionTimestamp),
  };
}

const submitsOf = (app: string): DoubleCall[] => double.submits(streamName(app));
const modelUrlArg = (call: DoubleCall) => call.args.find((a) => a.startsWith('spark.kappa.modelUrl='));

/** The worker's JSON log lines. */
function logLines(worker: KappaWorker): { app?: string; step?: string; attempt?: number; msg?: string }[] {
  return worker
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { app?: string; step?: string; attempt?: number; msg?: string });
}

/** The tail of the shared worker's log, to see why a wait timed out. */
const workerTail = (worker: KappaWorker = shared) => worker.output().slice(-6_000);

/** Waits for the app's status to satisfy `predicate`; a timeout shows the last status and the worker's log. */
async function waitForApp(
  app: string,
  what: string,
  predicate: (s: AppStatus) => boolean,
  timeoutMs = 60_000,
  worker: KappaWorker = shared,
): Promise<AppStatus> {
  let last: AppStatus | undefined;
  return waitFor(
    `${app}: ${what}`,
    async () => {
      last = await queryStatus(client, app);
      return predicate(last) ? last : undefined;
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(
      `${err.message}\nlast status: ${JSON.stringify(last)}\nworker log ends:\n${workerTail(worker)}`,
    );
  });
}

const runningWith = (app: string, notId?: string | null, worker?: KappaWorker) =>
  waitForApp(
    app,
    `Running${notId ? ` with another app than ${notId}` : ''}`,
    (s) => s.phase === 'Running' && s.yarnAppId !== null && s.yarnAppId !== notId,
    60_000,
    worker,
  );

/** Deploys the app and returns it Running (its model available, its stream submitted). */
async function deployed(config: AppConfig): Promise<AppStatus> {
  started.push(config.metadata.name);
  await deployApp(client, TASK_QUEUE, config);
  return runningWith(config.metadata.name);
}

/** Apps a test started that may still run: ended after it, so no later test's worker supervises them. */
const started: string[] = [];
async function endStarted(): Promise<void> {
  for (const app of started.splice(0)) {
    await appHandle(client, app)
      .terminate('test over')
      .catch(() => undefined); // ended already
  }
}

/** The pods of the app's model, deleted as someone with kubectl would. */
async function deletePods(app: string): Promise<void> {
  const { pods } = await objectsOf(app);
  await Promise.all(
    pods.map((p) =>
      kube.adminCore.deleteNamespacedPod({ namespace: NS, name: p.metadata!.name! }).catch((err) => {
        if (code(err) !== 404) throw err;
      }),
    ),
  );
}

async function kappa(...args: string[]): Promise<string> {
  const { stdout } = await run(KAPPA, ['--worker-config', workerConfigFile, ...args], {
    env: { ...process.env, CI: 'true' },
  });
  return stdout;
}

// The image pull failure waits out the grace for pull errors (half the step's timeout, 60 s at most): it runs
// beside the others, which run one at a time.
describe(
  'model services through Temporal on the real API server and controller manager',
  { concurrency: true },
  () => {
    test('image pull failure: the step fails before its timeout naming ErrImagePull/ImagePullBackOff, not as a timeout', async () => {
      const app = 'unpullable';
      const deployedAt = Date.now();
      // A short timeout: the grace for pull errors is half of it, so the failure still says why.
      await deployApp(client, TASK_QUEUE, modelApp(app, { timeout: '30s', maxRestarts: 0 }));
      const failed = await waitForApp(app, 'Failed', (s) => s.phase === 'Failed', 120_000);
      const tookMs = Date.now() - deployedAt;
      assert.match(
        failed.lastError ?? '',
        /Deployment spark-jobs\/unpullable-model: pod unpullable-model-\w+-\w+: container "model" cannot start: image registry\.test\/models\/unpullable:v1 \((ErrImagePull|ImagePullBackOff): .*not found\)/,
      );
      assert.doesNotMatch(failed.lastError ?? '', /timed out/);
      assert.ok(tookMs < 30_000, `failed after ${tookMs} ms, the step's timeout is 30s`);
      assert.equal(submitsOf(app).length, 0, 'no spark-submit');
    });

    describe('one app at a time', { concurrency: 1 }, () => {
      afterEach(endStarted);

      test('create: the Deployment becomes Available, then the stream is submitted with the resolved URL; Running', async () => {
        const app = 'scoring';
        const config = modelApp(app);
        const deployedAt = Date.now();
        const status = await deployed(config);
        const url = modelUrl(config);
        assert.equal(url, `http://${app}-model.${NS}.svc:${PORT}`);

        const submits = submitsOf(app);
        assert.equal(submits.length, 1, 'one spark-submit');
        assert.equal(modelUrlArg(submits[0]!), `spark.kappa.modelUrl=${url}`, 'the URL reached spark-submit');
        assert.deepEqual(
          double.live(streamName(app)).map((a) => a.id),
          [status.yarnAppId],
          'the app spark-submit started is the one supervised',
        );

        const { deployments, services, replicaSets, pods } = await objectsOf(app);
        assert.equal(deployments.length, 1, 'one Deployment');
        assert.deepEqual(services, [objectName(app)], 'one Service');
        assert.equal(replicaSets.length, 1, 'one ReplicaSet');
        assert.equal(pods.length, 1, 'one pod');
        const d = deployments[0]!;
        assert.ok(isAvailable(d), 'the Deployment is Available');
        const available = d.status?.conditions?.find((c) => c.type === 'Available');
        assert.equal(available?.status, 'True');
        // The controller counts from the pod's Ready transition (seconds): before the stream was submitted.
        assert.ok(
          new Date(available.lastTransitionTime!).getTime() <= submits[0]!.at,
          `Available at ${available?.lastTransitionTime?.toISOString()}, submitted at ${new Date(submits[0]!.at).toISOString()}`,
        );
        assert.ok(submits[0]!.at >= deployedAt);
        const svc = await readService(app);
        for (const [what, labels, fields] of [
          ['Deployment', d.metadata?.labels, d.metadata?.managedFields],
          ['Service', svc.metadata?.labels, svc.metadata?.managedFields],
        ] as const) {
          assert.equal(labels?.['kappa.dev/app'], app, `${what} labelled with the app`);
          assert.equal(labels?.['kappa.dev/step'], STEP, `${what} labelled with the step`);
          assert.equal(labels?.['kappa.dev/revision'], '1', `${what} labelled with the revision`);
          assert.equal(labels?.['app.kubernetes.io/managed-by'], 'kappa');
          assert.ok(
            fields?.some((f) => f.manager === 'kappa' && f.operation === 'Apply'),
            `${what} applied by field manager kappa: ${JSON.stringify(fields?.map((f) => [f.manager, f.operation]))}`,
          );
        }
        assert.equal(svc.spec?.type, 'ClusterIP');
        assert.equal(svc.spec?.ports?.[0]?.port, PORT);
        assert.equal(pods[0]!.spec?.containers[0]?.image, modelImage(app));
        assert.equal(status.lastError, null);
        assert.equal(status.attempts.length, 1);
      });

      test('readiness never passes: the step fails at its timeout with the probe reason; nothing submitted', async () => {
        const app = 'unready';
        started.push(app);
        await deployApp(client, TASK_QUEUE, modelApp(app, { timeout: '10s', maxRestarts: 0 }));
        const failed = await waitForApp(app, 'Failed', (s) => s.phase === 'Failed', 60_000);
        const reason =
          /Deployment spark-jobs\/unready-model: readiness probe not passing: container model running, not ready for \d+s \(0\/1 pods ready\)/;
        assert.match(failed.lastError ?? '', reason);
        // runStep's own timer or the runner's check of the same bound, whichever comes first.
        assert.match(failed.lastError ?? '', /step "model" timed out after 10s|not available after 10s/);
        assert.match(failed.attempts.at(-1)?.error ?? '', reason);
        assert.equal(submitsOf(app).length, 0, 'no spark-submit');
        assert.deepEqual(double.live(streamName(app)), []);
        const shown = await kappa('status', app);
        assert.match(shown, /readiness probe not passing/, shown);
      });

      test('a new revision with a new model image: rolled to a new ReplicaSet, the stream resubmitted only once it is Available', async () => {
        const app = 'rolling';
        const v1 = modelImage(app);
        const v2 = modelImage(app, 'v2');
        const first = await deployed(modelApp(app, { image: v1 }));
        const before = await objectsOf(app);
        assert.equal(before.replicaSets.length, 1);
        const oldRs = before.replicaSets[0]!;
        const oldPod = before.pods[0]!.metadata!.name!;

        // When the rollout of generation 2 was done, as the admin sees it (a read every 50 ms): after the start of
        // the last read that saw it not done yet (a lower bound, whatever the reads' latency).
        let notYetAt = 0;
        let done = false;
        let watching = true;
        const watch = (async () => {
          while (watching && !done) {
            const readAt = Date.now();
            const d = await readDeployment(app).catch(() => undefined);
            if (d && (d.metadata?.generation ?? 0) >= 2 && isAvailable(d)) done = true;
            else notYetAt = readAt;
            await new Promise((r) => setTimeout(r, 50));
          }
        })();
        const updatedAt = Date.now();
        const report = await deployApp(client, TASK_QUEUE, modelApp(app, { image: v2 }));
        assert.equal(report.action, 'updated');
        assert.equal(report.revision, 2);
        let second: AppStatus;
        try {
          second = await runningWith(app, first.yarnAppId);
        } finally {
          watching = false;
          await watch;
        }
        assert.equal(second.revision, 2);

        const submits = submitsOf(app);
        assert.equal(submits.length, 2, 'submitted again once');
        const resubmit = submits[1]!;
        assert.equal(modelUrlArg(resubmit), `spark.kappa.modelUrl=${modelUrl(modelApp(app))}`);
        assert.ok(done, 'the new revision became available');
        assert.ok(
          resubmit.at > notYetAt,
          `resubmitted at ${new Date(resubmit.at).toISOString()}, the rollout not done yet at ${new Date(notYetAt).toISOString()}`,
        );
        assert.ok(resubmit.at - updatedAt >= 4_000, 'the stream waited for the new model to get ready (4 s)');
        assert.deepEqual(
          double.live(streamName(app)).map((a) => a.id),
          [second.yarnAppId],
          'the old app was killed',
        );

        const d = await readDeployment(app);
        assert.equal(d.metadata?.generation, 2);
        assert.equal(d.metadata?.labels?.['kappa.dev/revision'], '2', 'the revision label is updated');
        assert.equal(d.spec?.template.spec?.containers[0]?.image, v2);
        // The controller's own word, in seconds: the new ReplicaSet available before the stream was resubmitted.
        const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
        assert.equal(progressing?.reason, 'NewReplicaSetAvailable');
        assert.ok(new Date(progressing.lastUpdateTime!).getTime() <= resubmit.at);
        assert.equal((await readService(app)).metadata?.labels?.['kappa.dev/revision'], '2');

        const after = await waitFor(
          'the old pod gone',
          async () => {
            const now = await objectsOf(app);
            return now.pods.length === 1 && now.pods[0]!.metadata!.name !== oldPod ? now : undefined;
          },
          30_000,
        );
        assert.equal(after.replicaSets.length, 2, 'the old ReplicaSet and a new one');
        const newRs = after.replicaSets.find((rs) => rs.metadata?.uid !== oldRs.metadata?.uid)!;
        assert.equal(newRs.metadata?.annotations?.[REVISION_ANNOTATION], '2');
        assert.equal(newRs.status?.availableReplicas, 1, 'the new ReplicaSet is available');
        assert.equal(
          after.replicaSets.find((rs) => rs.metadata?.uid === oldRs.metadata?.uid)?.spec?.replicas,
          0,
          'the old ReplicaSet is scaled down',
        );
        const pod = after.pods[0]!;
        assert.ok(pod.metadata?.ownerReferences?.some((o) => o.uid === newRs.metadata?.uid));
        assert.equal(pod.spec?.containers[0]?.image, v2);
        assert.ok(
          await gone(kube.adminCore.readNamespacedPod({ namespace: NS, name: oldPod })),
          'the old pod is gone',
        );
      });

      test('restartPolicy.from submit: the stream killed from outside is resubmitted, the model not rolled', async () => {
        const app = 'steady';
        const config = modelApp(app, { from: 'submit' });
        const first = await deployed(config);
        const before = await objectsOf(app);
        double.killFromOutside(first.yarnAppId!);
        const second = await runningWith(app, first.yarnAppId);
        assert.equal(second.restarts, 1);
        assert.equal(second.attempts.at(-1)?.from, 'submit', 'the restart ran from submit');

        const submits = submitsOf(app);
        assert.equal(submits.length, 2);
        assert.equal(
          modelUrlArg(submits[1]!),
          `spark.kappa.modelUrl=${modelUrl(config)}`,
          'the URL on a restart too',
        );
        const after = await objectsOf(app);
        const [d0, d1] = [before.deployments[0]!, after.deployments[0]!];
        assert.equal(after.deployments.length, 1);
        assert.equal(d1.metadata?.uid, d0.metadata?.uid);
        assert.equal(d1.metadata?.generation, d0.metadata?.generation, 'the Deployment was not changed');
        assert.equal(d1.metadata?.resourceVersion, d0.metadata?.resourceVersion, 'not even applied again');
        assert.deepEqual(
          after.replicaSets.map((rs) => rs.metadata?.uid),
          before.replicaSets.map((rs) => rs.metadata?.uid),
          'the same ReplicaSet',
        );
        assert.deepEqual(
          after.pods.map((p) => p.metadata?.uid),
          before.pods.map((p) => p.metadata?.uid),
          'the same model pod',
        );
      });

      test('the Deployment deleted behind Kappa’s back while supervised: applied again, the stream untouched', async () => {
        const app = 'recreated';
        const first = await deployed(modelApp(app));
        const old = await readDeployment(app);
        const svc = await readService(app);
        await apps.deleteNamespacedDeployment({ namespace: NS, name: objectName(app) });
        const fresh = await waitFor(
          'a new Deployment, available',
          async () => {
            const d = await readDeployment(app).catch(() => undefined);
            return d && d.metadata?.uid !== old.metadata?.uid && isAvailable(d) ? d : undefined;
          },
          30_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}\nworker log ends:\n${workerTail()}`);
        });
        assert.ok(
          logLines(shared).some((l) => l.app === app && l.msg === 'model service recreated'),
          'the worker says it applied the Deployment again',
        );
        assert.equal(fresh.metadata?.labels?.['kappa.dev/revision'], '1');
        assert.ok(fresh.metadata?.managedFields?.some((f) => f.manager === 'kappa'));
        const { deployments, replicaSets } = await waitFor(
          'the old ReplicaSet collected',
          async () => {
            const now = await objectsOf(app);
            return now.replicaSets.length === 1 ? now : undefined;
          },
          30_000,
        );
        assert.equal(deployments.length, 1, 'one Deployment');
        assert.ok(replicaSets[0]!.metadata?.ownerReferences?.some((o) => o.uid === fresh.metadata?.uid));
        assert.equal((await readService(app)).metadata?.uid, svc.metadata?.uid, 'the Service was left alone');

        const status = await queryStatus(client, app);
        assert.equal(status.phase, 'Running');
        assert.equal(status.yarnAppId, first.yarnAppId, 'the stream was not restarted');
        assert.equal(status.restarts, 0);
        assert.equal(submitsOf(app).length, 1, 'nothing submitted again');
        assert.deepEqual(
          double.live(streamName(app)).map((a) => a.id),
          [first.yarnAppId],
        );
      });

      test('the model unavailable past unavailableTimeout while supervised: Degraded with the reason, the stream kept; back to Running', async () => {
        const app = 'flaky';
        const image = modelImage(app);
        const first = await deployed(modelApp(app, { unavailableTimeout: '10s' }));
        kubelet.image(image, { kind: 'never-ready' });
        await deletePods(app);
        const downAt = Date.now();
        const degraded = await waitForApp(app, 'Degraded', (s) => s.phase === 'Degraded', 60_000);
        const degradedAfter = Date.now() - downAt;
        assert.match(
          degraded.lastError ?? '',
          /^model service "model" unavailable: unavailable for \d+s: Deployment spark-jobs\/flaky-model: readiness probe not passing: container model running, not ready for \d+s \(0\/1 pods ready\)$/,
        );
        assert.ok(
          degradedAfter >= 9_000,
          `Degraded ${degradedAfter} ms after the model went down (bound 10s)`,
        );
        assert.equal(degraded.yarnAppId, first.yarnAppId, 'the stream was not restarted');
        assert.equal(degraded.restarts, 0);

        kubelet.image(image, { kind: 'ready', afterMs: 300 });
        await deletePods(app);
        const back = await waitForApp(app, 'Running again', (s) => s.phase === 'Running', 60_000);
        assert.equal(back.yarnAppId, first.yarnAppId, 'the same YARN application throughout');
        assert.equal(back.lastError, null);
        assert.equal(back.restarts, 0);
        assert.equal(submitsOf(app).length, 1, 'nothing submitted again');
        assert.deepEqual(
          double.live(streamName(app)).map((a) => a.id),
          [first.yarnAppId],
        );
      });

      test('kappa stop: the YARN app killed, the Deployment and Service gone (404), Stopped; --leave-running leaves both', async () => {
        const [app, kept] = ['stopped', 'kept'];
        const [first, keptFirst] = await Promise.all([deployed(modelApp(app)), deployed(modelApp(kept))]);
        const stdout = await kappa('stop', app);
        assert.match(stdout, new RegExp(`${app}: Stopped`), stdout);
        assert.ok(await gone(readDeployment(app)), 'the Deployment is gone');
        assert.ok(await gone(readService(app)), 'the Service is gone');
        const left = await objectsOf(app);
        assert.deepEqual(
          [left.replicaSets.length, left.pods.length],
          [0, 0],
          'no ReplicaSet or pod of the model left (foreground deletion)',
        );
        assert.deepEqual(double.live(streamName(app)), [], 'the YARN app was killed');
        assert.equal(double.apps().find((a) => a.id === first.yarnAppId)?.state, 'KILLED');
        assert.equal((await queryStatus(client, app)).phase, 'Stopped');

        const out = await kappa('stop', kept, '--leave-running');
        assert.match(out, new RegExp(`${kept}: Stopped`), out);
        assert.equal((await queryStatus(client, kept)).phase, 'Stopped');
        assert.ok(isAvailable(await readDeployment(kept)), 'the Deployment is left, available');
        assert.equal((await readService(kept)).metadata?.name, objectName(kept), 'the Service is left');
        assert.deepEqual(
          double.live(streamName(kept)).map((a) => a.id),
          [keptFirst.yarnAppId],
          'the YARN app left running',
        );
      });
    });
  },
);

describe('a worker killed mid-rollout', () => {
  afterEach(endStarted);

  test('worker SIGKILLed during the service step: the next worker finishes it; one Deployment, Service, ReplicaSet, submit', async () => {
    const app = 'handover';
    started.push(app);
    await deployApp(client, TASK_QUEUE, modelApp(app, { timeout: '1m' }));
    // The step has applied the objects and is waiting for the model to get ready (8 s).
    await waitFor(
      'the model pod running, not ready',
      async () => {
        const { pods } = await objectsOf(app);
        return pods[0]?.status?.containerStatuses?.[0]?.state?.running !== undefined;
      },
      30_000,
    );
    assert.equal((await queryStatus(client, app)).step, STEP, 'the service step is running');
    assert.ok(!isAvailable(await readDeployment(app)), 'the rollout is not done');
    shared.child.kill('SIGKILL');
    await shared.exited;
    const next = await kappaWorker();
    shared = next;
    // The step's heartbeat times out (15 s), and the retry applies the same objects and waits.
    const status = await runningWith(app, undefined, next);
    // The retry (its heartbeat details may be the first, throttled one: no resume line) applies again: no change.
    const retried = logLines(next).filter((l) => l.app === app && l.step === STEP && l.attempt === 2);
    assert.ok(
      retried.some(
        (l) => l.msg === `applied Deployment and Service ${NS}/${objectName(app)} (revision 1, generation 1)`,
      ),
      `the retry applied the same objects: ${JSON.stringify(retried.map((l) => l.msg))}`,
    );
    const { deployments, services, replicaSets, pods } = await objectsOf(app);
    assert.equal(deployments.length, 1, 'one Deployment');
    assert.equal(deployments[0]!.metadata?.generation, 1, 'applied again without a change');
    assert.deepEqual(services, [objectName(app)], 'one Service');
    assert.equal(replicaSets.length, 1, 'one ReplicaSet');
    assert.equal(replicaSets[0]!.metadata?.annotations?.[REVISION_ANNOTATION], '1');
    assert.equal(pods.length, 1, 'one pod');
    const submits = submitsOf(app);
    assert.equal(submits.length, 1, 'one spark-submit');
    assert.equal(modelUrlArg(submits[0]!), `spark.kappa.modelUrl=${modelUrl(modelApp(app))}`);
    assert.deepEqual(
      double.live(streamName(app)).map((a) => a.id),
      [status.yarnAppId],
    );
  });
});
