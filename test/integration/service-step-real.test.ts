// The service step's runtime on the real-Kubernetes tier: a real kube-apiserver + kube-controller-manager v1.34.2
// (test/support/kube-apiserver.ts, `controllerManager: true`), the test kubelet running server pods by image
// (test/support/test-kubelet.ts), and every call made as the kappa-worker identity of config/kubernetes/rbac.yaml,
// so RBAC is checked: ServiceStepRunner (apply, rollout, early failures), ServiceHealth and ServiceKeeper
// (supervision), deleteService, and the least privilege the worker needs.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { FailureType } from '../../src/common/failures.js';
import { serviceStepSchema } from '../../src/config/service-step.js';
import { kubeClients, type KubeClients } from '../../src/kubernetes/clients.js';
import { deleteService, type ServiceObjects } from '../../src/kubernetes/service-api.js';
import { ServiceHealth, ServiceKeeper } from '../../src/kubernetes/service-health.js';
import { buildServiceManifests } from '../../src/kubernetes/service-manifest.js';
import { ServiceStepRunner } from '../../src/kubernetes/service-step-runner.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { TestKubelet } from '../support/test-kubelet.js';
import { waitFor } from '../support/harness.js';
import { testStepContext as context } from '../support/pod-step-fixtures.js';

const NS = 'models';
const V1 = 'registry.test/model:v1';
const V2 = 'registry.test/model:v2';
const NEVER_READY = 'registry.test/model:never-ready';
const MISSING = 'registry.test/model:missing';
const CRASHING = 'registry.test/model:crashing';
const BROKEN = 'registry.test/model:broken'; // ready until a test makes it never ready

let kube: KubeApiServer;
let kubelet: TestKubelet;
let clients: KubeClients;
/** The worker identity (rbac.yaml) and the admin, past Kappa's code. */
let worker: { apps: AppsV1Api; core: CoreV1Api };
let admin: { apps: AppsV1Api; core: CoreV1Api };

before(
  async () => {
    kube = await startKubeApiServer({
      namespace: NS,
      controllerManager: true,
      // rbac.yaml's deployments rule without `create`: is an apply that creates a create?
      extraWorkers: [
        {
          name: 'no-create',
          rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] }],
        },
      ],
    });
    clients = kubeClients(kube.kubeconfigPath);
    const workerConfig = new KubeConfig();
    workerConfig.loadFromFile(kube.kubeconfigPath);
    worker = { apps: workerConfig.makeApiClient(AppsV1Api), core: workerConfig.makeApiClient(CoreV1Api) };
    admin = { apps: kube.admin.makeApiClient(AppsV1Api), core: kube.adminCore };
    kubelet = new TestKubelet({
      admin: kube.admin,
      namespace: NS,
      tls: kube.tls,
      stepMs: 50,
      pollMs: 100,
      backOffMs: 300,
      images: {
        [V1]: { kind: 'ready', afterMs: 200 },
        [V2]: { kind: 'ready', afterMs: 200 },
        [BROKEN]: { kind: 'ready', afterMs: 200 },
        [NEVER_READY]: { kind: 'never-ready' },
        [MISSING]: { kind: 'pull-error' },
        [CRASHING]: { kind: 'crash-loop', exitCode: 3, runMs: 100, log: ['loading model', 'out of memory'] },
      },
    });
    await kubelet.start();
  },
  { timeout: 30 * 60_000 },
);
after(async () => {
  await kubelet?.stop();
  await kube?.stop();
});

/**
 * A model service's objects as Kappa builds them (service-manifest.ts): app `app`, step `model`, so the
 * Deployment, the Service and the container are `<app>-model`, `<app>-model` and `model`.
 */
function objects(app: string, image: string, namespace = NS): ServiceObjects {
  const step = serviceStepSchema.parse({
    image,
    port: 8080,
    readinessProbe: { tcpSocket: {}, period: '1s' },
  });
  return buildServiceManifests(step, { app, step: 'model', revision: 1, namespace });
}

/** Server-side apply, as the typed client needs it said. */
const SSA = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

const runner = (options: { imagePullGraceMs?: number } = {}) =>
  new ServiceStepRunner(() => clients, { pollMs: 200, imagePullGraceMs: 1_000, ...options });

const code = (err: unknown) => (err as { code?: number }).code;
const missing = (read: Promise<unknown>) =>
  read.then(
    () => false,
    (err) => code(err) === 404,
  );

async function counts(name: string): Promise<{ deployments: number; services: number }> {
  const labelSelector = `kappa.dev/app=${name}`;
  const [d, s] = await Promise.all([
    admin.apps.listNamespacedDeployment({ namespace: NS, labelSelector }),
    admin.core.listNamespacedService({ namespace: NS, labelSelector }),
  ]);
  return { deployments: d.items.length, services: s.items.length };
}

type Failure = Error & { type?: string; details?: unknown[] };

describe('ServiceStepRunner on a real API server and controller manager', () => {
  test('applies the Deployment and Service, waits until Available, returns where it answers', async () => {
    const { ctx, lines, heartbeats } = context('scorer');
    const started = Date.now();
    const result = await runner().run(objects('scorer', V1), ctx, { timeoutMs: 30_000 });
    assert.deepEqual(result, {
      url: 'http://scorer-model.models.svc:8080',
      host: 'scorer-model.models.svc',
      port: 8080,
      name: 'scorer-model',
      namespace: NS,
      revision: 1,
    });
    const d = await admin.apps.readNamespacedDeployment({ namespace: NS, name: 'scorer-model' });
    assert.equal(d.status?.availableReplicas, 1);
    assert.ok(
      d.metadata?.managedFields?.some((f) => f.manager === 'kappa' && f.operation === 'Apply'),
      'applied by field manager kappa',
    );
    const svc = await admin.core.readNamespacedService({ namespace: NS, name: 'scorer-model' });
    assert.match(svc.spec?.clusterIP ?? '', /^10\.0\.0\./);
    assert.ok(lines.some((l) => l.startsWith('applied Deployment and Service models/scorer-model')));
    assert.ok(heartbeats.some((h) => (h as { deployment?: string }).deployment === 'scorer-model'));
    assert.deepEqual(await counts('scorer'), { deployments: 1, services: 1 });
    console.log(`# available in ${Date.now() - started} ms`);
  });

  test('readiness never passes: fails at the timeout with the probe reason', async () => {
    const started = Date.now();
    await assert.rejects(
      runner().run(objects('unready', NEVER_READY), context('unready').ctx, { timeoutMs: 4_000 }),
      (err: Failure) => {
        assert.equal(err.type, FailureType.StepTimedOut);
        assert.match(
          err.message,
          /^not available after 4s: Deployment models\/unready-model: readiness probe not passing: container model running, not ready for \ds \(0\/1 pods ready\)$/,
        );
        return true;
      },
    );
    const took = Date.now() - started;
    assert.ok(took < 6_000, `took ${took} ms`);
  });

  test('an image that cannot be pulled fails early, with the kubelet message', async () => {
    const started = Date.now();
    await assert.rejects(
      runner().run(objects('unpullable', MISSING), context('unpullable').ctx, { timeoutMs: 60_000 }),
      (err: Failure) => {
        assert.equal(err.type, FailureType.StepFailed);
        assert.match(
          err.message,
          /^Deployment models\/unpullable-model: pod unpullable-model-\w+-\w+: container "model" cannot start: image registry.test\/model:missing \((ErrImagePull|ImagePullBackOff): .*not found\)$/,
        );
        assert.deepEqual(err.details, [
          { deployment: 'unpullable-model', namespace: NS, reason: 'ImagePull' },
        ]);
        return true;
      },
    );
    const took = Date.now() - started;
    assert.ok(took < 10_000, `failed after ${took} ms, not early`);
  });

  test('a crash loop fails with the container, exit code and restarts', async () => {
    await assert.rejects(
      runner().run(objects('crashing', CRASHING), context('crashing').ctx, { timeoutMs: 60_000 }),
      (err: Failure) => {
        assert.equal(err.type, FailureType.StepFailed);
        assert.match(
          err.message,
          /container "model" is crash-looping \(exit code 3, last termination Error, \d+ restarts\)/,
        );
        return true;
      },
    );
  });

  test('a new revision rolls: the new ReplicaSet Available, the pods of the old one gone', async () => {
    await runner().run(objects('rolling', V1), context('rolling').ctx, { timeoutMs: 30_000 });
    const { ctx } = context('rolling');
    await runner().run(objects('rolling', V2), ctx, { timeoutMs: 30_000 });
    const labelSelector = 'kappa.dev/app=rolling';
    const sets = await admin.apps.listNamespacedReplicaSet({ namespace: NS, labelSelector });
    const byImage = new Map(sets.items.map((rs) => [rs.spec?.template?.spec?.containers[0]?.image, rs]));
    assert.equal(byImage.get(V2)?.status?.availableReplicas, 1);
    assert.equal(byImage.get(V1)?.spec?.replicas, 0);
    const pods = await admin.core.listNamespacedPod({ namespace: NS, labelSelector });
    assert.deepEqual(
      pods.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.spec?.containers[0]?.image),
      [V2],
    );
    assert.deepEqual(await counts('rolling'), { deployments: 1, services: 1 });
  });

  test('two runs at once, and a run again after an interrupted one: one Deployment, one Service', async () => {
    const both = await Promise.all([
      runner().run(objects('twice', V1), context('twice').ctx, { timeoutMs: 30_000 }),
      runner().run(objects('twice', V1), context('twice').ctx, { timeoutMs: 30_000 }),
    ]);
    assert.deepEqual(both[0], both[1]);
    assert.deepEqual(await counts('twice'), { deployments: 1, services: 1 });

    const first = context('interrupted');
    const interrupted = runner().run(objects('interrupted', V1), first.ctx, { timeoutMs: 30_000 });
    await waitFor('the first apply', () => first.lines.some((l) => l.startsWith('applied')), 10_000);
    first.controller.abort(new Error('worker shutting down'));
    await assert.rejects(
      interrupted,
      /worker shutting down; stopped waiting for the rollout, the service stays/,
    );
    assert.ok(
      !(await missing(admin.apps.readNamespacedDeployment({ namespace: NS, name: 'interrupted-model' }))),
    );
    const again = context('interrupted', {
      previousDetails: { deployment: 'interrupted-model', namespace: NS, state: 'applied' },
    });
    await runner().run(objects('interrupted', V1), again.ctx, { timeoutMs: 30_000 });
    assert.ok(again.lines.some((l) => l.startsWith('resuming the rollout of models/interrupted-model')));
    assert.deepEqual(await counts('interrupted'), { deployments: 1, services: 1 });
  });
});

describe('supervision: ServiceHealth and ServiceKeeper', () => {
  let health: ServiceHealth;
  let keeper: ServiceKeeper;
  const watchLog: string[] = [];
  before(() => {
    health = new ServiceHealth(() => clients, { initialBackoffMs: 200, log: (l) => watchLog.push(l) });
    keeper = new ServiceKeeper(() => clients, health);
  });
  after(() => health?.stop());

  test("a Deployment deleted behind Kappa's back is recreated by the keeper", async () => {
    const kept = objects('kept', V1);
    await runner().run(kept, context('kept').ctx, { timeoutMs: 30_000 });
    assert.deepEqual(await health.health(NS, 'kept-model'), { kind: 'available' });
    assert.deepEqual(await keeper.check(kept, 60_000), { kind: 'ok' });
    await admin.apps.deleteNamespacedDeployment({ namespace: NS, name: 'kept-model' });
    await waitFor(
      'the watch to see it gone',
      async () => (await health.health(NS, 'kept-model')).kind === 'missing',
      10_000,
    );
    assert.deepEqual(await keeper.check(kept, 60_000), {
      kind: 'recreated',
      reason: 'Deployment models/kept-model was missing; applied it again',
    });
    await waitFor(
      'available again',
      async () => (await health.health(NS, 'kept-model')).kind === 'available',
      20_000,
    );
    assert.deepEqual(await counts('kept'), { deployments: 1, services: 1 });
  });

  test("a Service deleted alone (the pods still running) is recreated by the keeper's periodic look", async () => {
    const often = new ServiceKeeper(() => clients, health, { serviceCheckMs: 0 });
    const kept = objects('lone', V1);
    await runner().run(kept, context('lone').ctx, { timeoutMs: 30_000 });
    assert.deepEqual(await often.check(kept, 60_000), { kind: 'ok' });
    await admin.core.deleteNamespacedService({ namespace: NS, name: 'lone-model' });
    await waitFor(
      'the Service gone',
      () => missing(admin.core.readNamespacedService({ namespace: NS, name: 'lone-model' })),
      10_000,
    );
    assert.deepEqual(await often.check(kept, 60_000), {
      kind: 'recreated',
      reason: 'Service models/lone-model was missing; applied it again',
    });
    assert.deepEqual(await counts('lone'), { deployments: 1, services: 1 });
    // The default keeper looks at most once a minute: once it has seen the Service, it does not ask again soon.
    assert.deepEqual(await keeper.check(kept, 60_000), { kind: 'ok' });
    await admin.core.deleteNamespacedService({ namespace: NS, name: 'lone-model' });
    assert.deepEqual(await keeper.check(kept, 60_000), { kind: 'ok' });
    await deleteService(clients, kept, { waitMs: 30_000 });
  });

  test('unavailable longer than the bound: the keeper reports what the pods say', async () => {
    const broken = objects('broken', BROKEN);
    await runner().run(broken, context('broken').ctx, { timeoutMs: 30_000 });
    // The model breaks: its next pod never becomes ready. The pod goes (as an eviction would take it).
    kubelet.image(BROKEN, { kind: 'never-ready' });
    const pods = await admin.core.listNamespacedPod({ namespace: NS, labelSelector: 'kappa.dev/app=broken' });
    for (const p of pods.items)
      await admin.core.deleteNamespacedPod({ namespace: NS, name: p.metadata!.name! });
    const state = await waitFor(
      'unavailable',
      async () => {
        const h = await health.health(NS, 'broken-model');
        return h.kind === 'unavailable' ? h : undefined;
      },
      20_000,
    );
    assert.match(
      state.reason,
      /^Deployment models\/broken-model: no available replica \(0\/1\): MinimumReplicasUnavailable: Deployment does not have minimum availability.$/,
    );
    assert.deepEqual(await keeper.check(broken, 3_600_000), { kind: 'ok', unavailableSince: state.since });
    const report = await waitFor(
      'a pod running, not ready',
      async () => {
        const r = await keeper.check(broken, 0);
        return r.kind === 'unavailable' && /readiness probe not passing/.test(r.reason) ? r : undefined;
      },
      20_000,
    );
    assert.match(
      report.kind === 'unavailable' ? report.reason : '',
      /^unavailable for \d+s: Deployment models\/broken-model: readiness probe not passing: container model running, not ready for \d+s \(0\/1 pods ready\)$/,
    );
  });

  test('the shared watch outlives an API server restart, backing off, and sees what changed meanwhile', async () => {
    await runner().run(objects('survivor', V1), context('survivor').ctx, { timeoutMs: 30_000 });
    assert.deepEqual(await health.health(NS, 'survivor-model'), { kind: 'available' });
    const before = watchLog.length;
    const started = Date.now();
    await kube.restart();
    await admin.apps.deleteNamespacedDeployment({ namespace: NS, name: 'survivor-model' });
    await waitFor(
      'the watch to see the deletion',
      async () => (await health.health(NS, 'survivor-model')).kind === 'missing',
      30_000,
    );
    const retries = watchLog.slice(before);
    const took = Date.now() - started;
    console.log(`# ${retries.length} watch retries over ${took} ms: ${retries.join(' | ')}`);
    assert.ok(retries.length <= 2 + Math.log2(took / 200), `a backoff, not a hot loop: ${retries.length}`);
  });

  test('deleteService removes the Deployment, its pods and the Service: gone (404)', async () => {
    await runner().run(objects('doomed', V1), context('doomed').ctx, { timeoutMs: 30_000 });
    const started = Date.now();
    const lines: string[] = [];
    await deleteService(clients, objects('doomed', V1), { waitMs: 30_000, log: (l) => lines.push(l) });
    console.log(`# deleted in ${Date.now() - started} ms`);
    assert.deepEqual(lines, ['deleted Deployment and Service models/doomed-model']);
    assert.ok(await missing(admin.apps.readNamespacedDeployment({ namespace: NS, name: 'doomed-model' })));
    assert.ok(await missing(admin.core.readNamespacedService({ namespace: NS, name: 'doomed-model' })));
    const pods = await admin.core.listNamespacedPod({ namespace: NS, labelSelector: 'kappa.dev/app=doomed' });
    assert.deepEqual(
      pods.items.map((p) => p.metadata?.name),
      [],
      'Foreground: the pods went first',
    );
    // Deleting again is done at once: nothing is left.
    await deleteService(clients, objects('doomed', V1), { waitMs: 1_000 });
  });

  test("names that meet: another app's or a hand-made object of the name is neither taken over nor deleted", async () => {
    // App "clash" step "b-model" and app "clash-b" step "model" are both named "clash-b-model".
    const first = objects('clash-b', V1);
    await runner().run(first, context('clash-b').ctx, { timeoutMs: 30_000 });
    const step = serviceStepSchema.parse({ image: V2, port: 8080 });
    const second = buildServiceManifests(step, { app: 'clash', step: 'b-model', revision: 1, namespace: NS });
    assert.equal(second.name, first.name);
    await assert.rejects(
      runner().run(second, context('clash').ctx, { timeoutMs: 10_000 }),
      (err: Failure) => {
        assert.equal(err.type, FailureType.InvalidConfig);
        assert.equal(
          err.message,
          'Deployment models/clash-b-model belongs to app "clash-b" step "model", so app "clash" step "b-model" cannot ' +
            'use the name "clash-b-model" (a model service is named <app>-<step>): rename the step, or remove the other object',
        );
        return true;
      },
    );
    const kept = await admin.apps.readNamespacedDeployment({ namespace: NS, name: first.name });
    assert.equal(kept.metadata?.labels?.['kappa.dev/app'], 'clash-b', 'the first app keeps its Deployment');
    assert.equal(kept.spec?.template.spec?.containers[0]?.image, V1);

    const lines: string[] = [];
    await deleteService(clients, second, { waitMs: 5_000, log: (l) => lines.push(l) });
    assert.deepEqual(lines, [
      'left alone: Deployment models/clash-b-model belongs to app "clash-b" step "model"',
      'left alone: Service models/clash-b-model belongs to app "clash-b" step "model"',
    ]);
    assert.equal(
      await missing(admin.apps.readNamespacedDeployment({ namespace: NS, name: first.name })),
      false,
    );
    assert.equal(await missing(admin.core.readNamespacedService({ namespace: NS, name: first.name })), false);
    await deleteService(clients, first, { waitMs: 30_000 });

    // A Service someone made by hand under the name of a step.
    await admin.core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'handmade-model' }, spec: { ports: [{ port: 80 }] } },
    });
    await assert.rejects(
      runner().run(objects('handmade', V1), context('handmade').ctx, { timeoutMs: 10_000 }),
      (err: Failure) => {
        assert.equal(err.type, FailureType.InvalidConfig);
        assert.match(
          err.message,
          /^Service models\/handmade-model exists and is not Kappa's \(no label app.kubernetes.io\/managed-by=kappa\)/,
        );
        return true;
      },
    );
    assert.equal(await counts('handmade').then((c) => c.deployments), 0, 'nothing applied beside it');
    await deleteService(clients, objects('handmade', V1), { waitMs: 5_000 });
    assert.equal(
      await missing(admin.core.readNamespacedService({ namespace: NS, name: 'handmade-model' })),
      false,
    );
    await admin.core.deleteNamespacedService({ namespace: NS, name: 'handmade-model' });
  });
});

describe('RBAC: the worker identity of rbac.yaml', () => {
  test('every verb the service step needs works in its namespace', async () => {
    const o = objects('rbac-probe', V1);
    const body = o.deployment;
    // Server-side apply of a new object (patch + create), of an existing one (patch).
    const apply = { namespace: NS, name: 'rbac-probe-model', fieldManager: 'kappa', force: true };
    await worker.apps.patchNamespacedDeployment({ ...apply, body }, SSA);
    await worker.apps.patchNamespacedDeployment({ ...apply, body }, SSA);
    await worker.core.patchNamespacedService({ ...apply, body: o.service }, SSA);
    await worker.apps.readNamespacedDeployment({ namespace: NS, name: 'rbac-probe-model' });
    await worker.apps.listNamespacedDeployment({
      namespace: NS,
      labelSelector: 'app.kubernetes.io/managed-by=kappa',
    });
    const sets = await worker.apps.listNamespacedReplicaSet({
      namespace: NS,
      labelSelector: 'kappa.dev/app=rbac-probe',
    });
    const rs = await waitFor(
      'its ReplicaSet',
      async () =>
        (
          await worker.apps.listNamespacedReplicaSet({
            namespace: NS,
            labelSelector: 'kappa.dev/app=rbac-probe',
          })
        ).items[0],
      10_000,
    );
    assert.ok(sets.items.length <= 1);
    await worker.apps.readNamespacedReplicaSet({ namespace: NS, name: rs.metadata!.name! });
    await worker.core.readNamespacedService({ namespace: NS, name: 'rbac-probe-model' });
    await worker.core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'rbac-create' }, spec: { ports: [{ port: 80 }] } },
    });
    await worker.core.deleteNamespacedService({ namespace: NS, name: 'rbac-create' });
    await worker.apps.createNamespacedDeployment({
      namespace: NS,
      body: { ...body, metadata: { name: 'rbac-create', labels: { a: 'b' } } },
    });
    await worker.apps.deleteNamespacedDeployment({ namespace: NS, name: 'rbac-create' });
    // watch: ServiceHealth lists and watches; deleteService deletes and reads both until gone.
    const health = new ServiceHealth(() => clients);
    try {
      assert.equal((await health.health(NS, 'rbac-probe-model')).kind !== 'missing', true);
    } finally {
      health.stop();
    }
    await deleteService(clients, objects('rbac-probe', V1), { waitMs: 30_000 });
  });

  test('an apply that creates needs create as well as patch', async () => {
    const noCreate = new KubeConfig();
    noCreate.loadFromFile(kube.kubeconfigs['no-create']!);
    const api = noCreate.makeApiClient(AppsV1Api);
    const body = objects('no-create', V1).deployment;
    const apply = { namespace: NS, name: 'no-create-model', fieldManager: 'kappa', force: true, body };
    await assert.rejects(api.patchNamespacedDeployment(apply, SSA), (err) => {
      assert.equal(code(err), 403);
      assert.match(String((err as { body?: unknown }).body), /cannot create resource \\?"deployments\\?"/);
      return true;
    });
    await admin.apps.patchNamespacedDeployment(apply, SSA);
    await api.patchNamespacedDeployment(apply, SSA); // an existing object: patch is enough
    await admin.apps.deleteNamespacedDeployment({ namespace: NS, name: 'no-create-model' });
  });

  test('outside its namespace it is refused, and the failure names verb, resource and namespace', async () => {
    await assert.rejects(
      runner().run(objects('elsewhere', V1, 'default'), context('elsewhere').ctx, { timeoutMs: 5_000 }),
      (err: Failure) => {
        assert.equal(err.type, FailureType.NotConfigured);
        assert.match(
          err.message,
          /^get deployments.apps default\/elsewhere-model: deployments.apps "elsewhere-model" is forbidden: User "system:serviceaccount:models:kappa-worker" cannot get resource "deployments" in API group "apps" in the namespace "default" \(the worker's Kubernetes identity needs this permission: see config\/kubernetes\/rbac.yaml\)$/,
        );
        return true;
      },
    );
    const health = new ServiceHealth(() => clients, { initialBackoffMs: 100, syncTimeoutMs: 10_000 });
    try {
      await assert.rejects(health.health('default', 'elsewhere-model'), (err: Failure) => {
        assert.equal(err.type, FailureType.NotConfigured);
        assert.match(
          err.message,
          /^list\/watch deployments.apps in default: .*cannot list resource "deployments" in API group "apps" in the namespace "default"/,
        );
        return true;
      });
    } finally {
      health.stop();
    }
    await assert.rejects(deleteService(clients, objects('elsewhere', V1, 'default')), (err: Failure) => {
      assert.equal(err.type, FailureType.NotConfigured);
      assert.match(
        err.message,
        /^get deployments.apps default\/elsewhere-model: .*cannot get resource "deployments"/,
      );
      return true;
    });
    await assert.rejects(
      worker.apps.listNamespacedDeployment({ namespace: 'default' }),
      (err) => code(err) === 403,
    );
    await assert.rejects(
      worker.apps.listNamespacedStatefulSet({ namespace: NS }),
      (err) => code(err) === 403,
    );
    await assert.rejects(
      worker.apps.deleteNamespacedReplicaSet({ namespace: NS, name: 'x' }),
      (err) => code(err) === 403,
    );
    await assert.rejects(worker.core.listNamespacedService({ namespace: NS }), (err) => code(err) === 403);
  });
});
