// The real-Kubernetes tier with a real kube-controller-manager v1.34.2 (test/support/kube-apiserver.ts,
// `controllerManager: true`) and the test kubelet running server pods (test/support/test-kubelet.ts): what the
// service step (issue #14) stands on. A Deployment really makes a ReplicaSet and Pods; the kubelet makes them
// Ready, never ready, unpullable or crash-looping by image; the deployment controller's own status (Available,
// Progressing, ProgressDeadlineExceeded, a rollout to a new ReplicaSet) follows. A Service gets a ClusterIP and the
// endpointslice controller an EndpointSlice of the ready pods.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  type V1Deployment,
  type V1DeploymentSpec,
  type V1Pod,
} from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { TestKubelet } from '../support/test-kubelet.js';
import { waitFor } from '../support/harness.js';

const NS = 'models';
const V1 = 'registry.test/model:v1';
const V2 = 'registry.test/model:v2';
const NEVER_READY = 'registry.test/model:never-ready';
const MISSING = 'registry.test/model:missing';
const CRASHING = 'registry.test/model:crashing';

let kube: KubeApiServer;
let kubelet: TestKubelet;
let apps: AppsV1Api;
let core: CoreV1Api;

before(
  async () => {
    kube = await startKubeApiServer({ namespace: NS, controllerManager: true });
    apps = kube.admin.makeApiClient(AppsV1Api);
    core = kube.adminCore;
    kubelet = new TestKubelet({
      admin: kube.admin,
      namespace: NS,
      tls: kube.tls,
      stepMs: 50,
      pollMs: 100,
      backOffMs: 300,
      images: {
        [V1]: { kind: 'ready', afterMs: 300 },
        [V2]: { kind: 'ready', afterMs: 300 },
        [NEVER_READY]: { kind: 'never-ready' },
        [MISSING]: { kind: 'pull-error' },
        [CRASHING]: { kind: 'crash-loop', exitCode: 3, runMs: 150, log: ['loading model', 'out of memory'] },
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

/** A model server: its pods labelled app=NAME, a readiness probe on :8080 (so readiness is the kubelet's call). */
function deployment(name: string, image: string, spec: Partial<V1DeploymentSpec> = {}): V1Deployment {
  return {
    metadata: { name, namespace: NS },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'model',
              image,
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
      ...spec,
    },
  };
}

const condition = (d: V1Deployment, type: string) => d.status?.conditions?.find((c) => c.type === type);
const readDeployment = (name: string) => apps.readNamespacedDeployment({ name, namespace: NS });

async function podsOf(app: string): Promise<V1Pod[]> {
  const list = await core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` });
  return list.items;
}

/** The Deployment once its controller has seen its latest spec and `check` holds. */
function deploymentWhere(
  name: string,
  what: string,
  check: (d: V1Deployment) => boolean,
  timeoutMs = 20_000,
) {
  return waitFor(
    `deployment ${name}: ${what}`,
    async () => {
      const d = await readDeployment(name);
      return d.status?.observedGeneration === d.metadata?.generation && check(d) ? d : undefined;
    },
    timeoutMs,
  );
}

const available = (d: V1Deployment) =>
  d.status?.availableReplicas === d.spec?.replicas &&
  d.status?.updatedReplicas === d.spec?.replicas &&
  d.status?.replicas === d.spec?.replicas &&
  condition(d, 'Available')?.status === 'True' &&
  condition(d, 'Progressing')?.reason === 'NewReplicaSetAvailable';

describe('Deployments on a real kube-controller-manager', () => {
  test('the controller manager runs the controllers asked for, and gave the namespace nothing twice', async (t) => {
    t.diagnostic(`kube-controller-manager synced in ${kube.controllerManagerMs} ms`);
    assert.deepEqual(kube.controllers, [
      'deployment',
      'replicaset',
      'serviceaccount',
      'serviceaccount-token',
      'namespace',
      'garbagecollector',
      'endpointslice',
    ]);
    // Made by the serviceaccount controller: only it makes kube-system's `default` ServiceAccount.
    await core.readNamespacedServiceAccount({ name: 'default', namespace: 'kube-system' });
    const accounts = await core.listNamespacedServiceAccount({ namespace: NS });
    assert.equal(accounts.items.filter((a) => a.metadata?.name === 'default').length, 1);
  });

  test('a Deployment makes a ReplicaSet and Pods, and is Available once the pods are Ready', async () => {
    await apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', V1) });
    const d = await deploymentWhere('web', 'available', available);
    assert.equal(d.status?.readyReplicas, 2);
    assert.equal(condition(d, 'Available')?.reason, 'MinimumReplicasAvailable');

    const sets = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' });
    assert.equal(sets.items.length, 1);
    const rs = sets.items[0]!;
    assert.deepEqual(
      rs.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
      [['Deployment', 'web', true]],
    );
    assert.equal(rs.status?.availableReplicas, 2);

    const pods = await podsOf('web');
    assert.equal(pods.length, 2);
    const ips = new Set<string>();
    for (const pod of pods) {
      assert.equal(pod.metadata?.ownerReferences?.[0]?.name, rs.metadata?.name);
      assert.equal(pod.spec?.nodeName, kubelet.nodeName);
      assert.equal(pod.status?.phase, 'Running');
      assert.deepEqual(
        pod.status?.conditions?.map((c) => [c.type, c.status]),
        [
          ['PodReadyToStartContainers', 'True'],
          ['Initialized', 'True'],
          ['Ready', 'True'],
          ['ContainersReady', 'True'],
          ['PodScheduled', 'True'],
        ],
      );
      const [status] = pod.status?.containerStatuses ?? [];
      assert.equal(status?.ready, true);
      assert.equal(status?.started, true);
      assert.equal(status?.restartCount, 0);
      assert.ok(status?.state?.running?.startedAt);
      assert.equal(status?.image, V1); // has a registry and a tag already: containerd reports it as is
      assert.match(status?.containerID ?? '', /^containerd:\/\/[0-9a-f]{64}$/);
      const ip = pod.status?.podIP ?? '';
      assert.match(ip, /^10\.244\.0\.\d+$/);
      ips.add(ip);
    }
    assert.equal(ips.size, 2, 'each pod has an IP of its own');
  });

  test('a Service gets a ClusterIP, and its EndpointSlice holds the ready pods', async () => {
    const service = await core.createNamespacedService({
      namespace: NS,
      body: {
        metadata: { name: 'web' },
        spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
    assert.equal(service.spec?.type, 'ClusterIP');
    assert.match(service.spec?.clusterIP ?? '', /^10\.0\.0\.\d+$/); // from --service-cluster-ip-range
    const ips = new Set((await podsOf('web')).map((p) => p.status?.podIP));
    const discovery = kube.admin.makeApiClient(DiscoveryV1Api);
    const slice = await waitFor(
      'the EndpointSlice of both pods',
      async () => {
        const slices = await discovery.listNamespacedEndpointSlice({
          namespace: NS,
          labelSelector: 'kubernetes.io/service-name=web',
        });
        const s = slices.items[0];
        return s?.endpoints?.length === 2 ? s : undefined;
      },
      10_000,
    );
    assert.deepEqual(
      slice.ports?.map((p) => [p.name, p.port]),
      [['http', 8080]],
    );
    for (const e of slice.endpoints) {
      assert.ok(ips.has(e.addresses[0]), `${e.addresses[0]} is a pod's IP`);
      assert.equal(e.conditions?.ready, true);
      assert.equal(e.nodeName, kubelet.nodeName);
    }
  });

  test('pods that never become ready: not Available, and past the deadline ProgressDeadlineExceeded', async () => {
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment('stuck', NEVER_READY, { replicas: 1, progressDeadlineSeconds: 2 }),
    });
    const d = await deploymentWhere(
      'stuck',
      'Progressing=False',
      (d) => condition(d, 'Progressing')?.status === 'False',
    );
    assert.equal(condition(d, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    assert.match(
      condition(d, 'Progressing')?.message ?? '',
      /^ReplicaSet "stuck-[a-z0-9]+" has timed out progressing\.$/,
    );
    assert.equal(condition(d, 'Available')?.status, 'False');
    assert.equal(condition(d, 'Available')?.reason, 'MinimumReplicasUnavailable');
    assert.equal(d.status?.availableReplicas ?? 0, 0);
    assert.equal(d.status?.unavailableReplicas, 1);

    const [pod] = await podsOf('stuck');
    assert.equal(pod?.status?.phase, 'Running');
    const ready = pod?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.deepEqual(
      [ready?.status, ready?.reason, ready?.message],
      ['False', 'ContainersNotReady', 'containers with unready status: [model]'],
    );
    const [status] = pod?.status?.containerStatuses ?? [];
    assert.equal(status?.ready, false);
    assert.ok(status?.state?.running, 'running, only not ready');
  });

  test('an image that cannot be pulled: ErrImagePull, then ImagePullBackOff with the error, in the pod status', async () => {
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment('unpullable', MISSING, { replicas: 1 }),
    });
    const reasons = new Set<string>();
    const pod = await waitFor(
      'ImagePullBackOff after ErrImagePull',
      async () => {
        const [pod] = await podsOf('unpullable');
        const waiting = pod?.status?.containerStatuses?.[0]?.state?.waiting;
        if (waiting?.reason) reasons.add(waiting.reason);
        return waiting?.reason === 'ImagePullBackOff' && reasons.has('ErrImagePull') ? pod : undefined;
      },
      10_000,
    );
    const pullError =
      'rpc error: code = NotFound desc = failed to pull and unpack image "registry.test/model:missing": ' +
      'failed to resolve reference "registry.test/model:missing": registry.test/model:missing: not found';
    assert.equal(
      pod.status?.containerStatuses?.[0]?.state?.waiting?.message,
      `Back-off pulling image "${MISSING}": ErrImagePull: ${pullError}`,
    );
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.status?.containerStatuses?.[0]?.imageID, '');
    // The log goes through the API server to the kubelet, which has no container to read.
    const worker = new KubeConfig();
    worker.loadFromFile(kube.kubeconfigPath);
    await assert.rejects(
      worker
        .makeApiClient(CoreV1Api)
        .readNamespacedPodLog({ namespace: NS, name: pod.metadata!.name!, container: 'model' }),
      (err: { code?: number; body?: string }) => {
        assert.equal(err.code, 400);
        const { message } = JSON.parse(err.body ?? '{}') as { message?: string };
        assert.match(
          message ?? '',
          new RegExp(
            `^container "model" in pod "${pod.metadata!.name}" is waiting to start: ` +
              `(image can't be pulled|trying and failing to pull image)$`,
          ),
        );
        return true;
      },
    );
    const d = await readDeployment('unpullable');
    assert.equal(d.status?.availableReplicas ?? 0, 0);
  });

  test("a crash-looping server: exit code, restarts counted, CrashLoopBackOff, the previous run's log", async () => {
    await apps.createNamespacedDeployment({
      namespace: NS,
      body: deployment('crashing', CRASHING, { replicas: 1 }),
    });
    const counts = new Set<number>();
    const pod = await waitFor(
      'CrashLoopBackOff after the second restart',
      async () => {
        const [pod] = await podsOf('crashing');
        const s = pod?.status?.containerStatuses?.[0];
        if (s) counts.add(s.restartCount);
        return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s.restartCount >= 2 ? pod : undefined;
      },
      15_000,
    );
    assert.ok(counts.size >= 2, `restartCount seen counting: ${[...counts].join(', ')}`);
    const name = pod.metadata!.name!;
    const s = pod.status!.containerStatuses![0]!;
    assert.equal(pod.status?.phase, 'Running');
    assert.equal(s.ready, false);
    assert.equal(s.lastState?.terminated?.exitCode, 3);
    assert.equal(s.lastState?.terminated?.reason, 'Error');
    assert.match(s.lastState?.terminated?.containerID ?? '', /^containerd:\/\//);
    // The kubelet's back-off: none before the first restart, then 10 s doubling (compressed here, named as real).
    const backOff = ['10s', '20s', '40s', '1m20s', '2m40s', '5m0s'][Math.min(s.restartCount - 1, 5)];
    assert.equal(
      s.state?.waiting?.message,
      `back-off ${backOff} restarting failed container=model pod=${name}_${NS}(${pod.metadata!.uid})`,
    );
    const log = await core.readNamespacedPodLog({ namespace: NS, name, container: 'model', previous: true });
    assert.equal(log, 'loading model\nout of memory\n');
  });

  test('a changed pod template rolls out: a new ReplicaSet, the old one scaled to 0, Available again', async () => {
    const before = await readDeployment('web');
    const oldPods = new Set((await podsOf('web')).map((p) => p.metadata!.name!));
    before.spec!.template.spec!.containers[0]!.image = V2;
    await apps.replaceNamespacedDeployment({ name: 'web', namespace: NS, body: before });
    const d = await deploymentWhere('web', 'rolled out and available', available);
    assert.equal(d.metadata?.generation, 2);

    const sets = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' });
    const byImage = new Map(sets.items.map((rs) => [rs.spec?.template?.spec?.containers[0]?.image, rs]));
    assert.equal(sets.items.length, 2);
    assert.equal(byImage.get(V1)?.spec?.replicas, 0);
    assert.equal(byImage.get(V2)?.spec?.replicas, 2);
    assert.equal(byImage.get(V2)?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');

    // The old pods are gone for good (graceful deletion confirmed by the kubelet), not just Terminating.
    const pods = await waitFor(
      'only the new pods',
      async () => {
        const pods = await podsOf('web');
        return pods.length === 2 && pods.every((p) => !oldPods.has(p.metadata!.name!)) ? pods : undefined;
      },
      10_000,
    );
    for (const p of pods) assert.equal(p.status?.containerStatuses?.[0]?.image, V2);
  });

  test('deleting a Deployment deletes its ReplicaSets and pods (garbage collector)', async () => {
    await apps.deleteNamespacedDeployment({ name: 'web', namespace: NS });
    await waitFor(
      'no ReplicaSets or pods of web',
      async () => {
        const sets = await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=web' });
        return sets.items.length === 0 && (await podsOf('web')).length === 0;
      },
      15_000,
    );
    assert.deepEqual(kubelet.errors, []);
  });
});
