// The real-Kubernetes tier: a real kube-apiserver v1.34.2 + etcd (test/support/kube-apiserver.ts; built once per
// machine by scripts/ensure-kube.sh), RBAC as config/kubernetes/rbac.yaml grants it, and a minimal test kubelet
// (test/support/test-kubelet.ts) for the pod step run end to end, logs through the API server's kubelet proxy.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig, Log, Watch, type V1Pod } from '@kubernetes/client-node';
import { loadAppFile } from '../../src/config/load.js';
import type { PodStep } from '../../src/config/app-config.js';
import { kubeClients } from '../../src/kubernetes/clients.js';
import { buildPodManifest, podName } from '../../src/kubernetes/pod-manifest.js';
import { PodStepRunner } from '../../src/kubernetes/pod-step-runner.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { TestKubelet } from '../support/test-kubelet.js';
import { waitFor } from '../support/harness.js';
import { testStepContext as context } from '../support/pod-step-fixtures.js';

const NS = 'spark-jobs';
const ROAMING = join(__dirname, '..', '..', 'config', 'apps', 'international-roaming.yaml');
let kube: KubeApiServer;
let worker: CoreV1Api;
let workerConfig: KubeConfig;

// A cold build of kube-apiserver takes ~9 minutes, once per machine (scripts/test.sh builds it before the tests).
before(
  async () => {
    kube = await startKubeApiServer({ namespace: NS });
    workerConfig = new KubeConfig();
    workerConfig.loadFromFile(kube.kubeconfigPath);
    worker = workerConfig.makeApiClient(CoreV1Api);
  },
  { timeout: 30 * 60_000 },
);
after(() => kube?.stop());

const code = (err: unknown) => (err as { code?: number }).code;
async function refused(call: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(call, (err) => {
    assert.equal(code(err), 403, `${what}: expected 403 Forbidden, got ${String(err)}`);
    return true;
  });
}

/** Deleted means 404, not the DELETE's 200: a pod on a node stays Terminating until its kubelet confirms. */
function gone(name: string): Promise<true> {
  return waitFor(
    `pod ${name} gone`,
    () =>
      worker.readNamespacedPod({ namespace: NS, name }).then(
        () => false,
        (err) => code(err) === 404,
      ),
    10_000,
  );
}

function roamingStep(): PodStep {
  const pod = loadAppFile(ROAMING).config.spec.steps.find((s) => s.pod)?.pod;
  assert.ok(pod, 'the example has a pod step');
  return pod;
}

const pause = (name: string): V1Pod => ({
  metadata: { name },
  spec: {
    restartPolicy: 'Never',
    containers: [{ name: 'main', image: 'registry.k8s.io/pause:3.10' }],
    serviceAccountName: 'kappa-submitter',
  },
});

/**
 * A request as the worker, past @kubernetes/client-node's typed models: they drop fields they do not know before
 * sending (so an unknown field never reaches the server) and cannot parse a 204.
 */
function asWorker(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string; warning?: string }> {
  const token = workerConfig.getCurrentUser()?.token;
  return new Promise((resolve, reject) => {
    const req = request(
      `${kube.url}${path}`,
      {
        method,
        ca: kube.tls.ca,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        const warning = res.headers.warning;
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text,
            ...(warning ? { warning: String(warning) } : {}),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('real kube-apiserver', () => {
  test('started quickly', (t) => {
    t.diagnostic(`etcd + kube-apiserver ready in ${kube.startupMs} ms`);
    assert.ok(kube.startupMs < 30_000, `startup took ${kube.startupMs} ms`);
  });

  test('the worker identity from rbac.yaml creates, gets, lists, watches, deletes pods and reads pods/log', async () => {
    const events: string[] = [];
    const watchDone: unknown[] = [];
    const abort = await new Watch(workerConfig).watch(
      `/api/v1/namespaces/${NS}/pods`,
      {},
      (type, obj: V1Pod) => events.push(`${type} ${obj.metadata?.name}`),
      (err) => watchDone.push(err),
    );
    try {
      const created = await worker.createNamespacedPod({ namespace: NS, body: pause('rbac-probe') });
      assert.equal(created.metadata?.namespace, NS);
      assert.equal(
        (await worker.readNamespacedPod({ namespace: NS, name: 'rbac-probe' })).metadata?.uid,
        created.metadata?.uid,
      );
      const list = await worker.listNamespacedPod({
        namespace: NS,
        fieldSelector: 'metadata.name=rbac-probe',
      });
      assert.deepEqual(
        list.items.map((p) => p.metadata?.name),
        ['rbac-probe'],
      );
      await waitFor('the ADDED watch event', () => events.includes('ADDED rbac-probe'), 10_000);
      // An unscheduled pod has no kubelet to ask: the real server answers 204 No Content (allowed, not 403).
      const log = await asWorker('GET', `/api/v1/namespaces/${NS}/pods/rbac-probe/log?container=main`);
      assert.deepEqual(log, { status: 204, body: '' });
      await worker.deleteNamespacedPod({ namespace: NS, name: 'rbac-probe' });
      // An unscheduled pod is deleted at once (no kubelet to confirm): a DELETED event, then 404.
      await waitFor('the DELETED watch event', () => events.includes('DELETED rbac-probe'), 10_000);
      await gone('rbac-probe');
      assert.deepEqual(watchDone, [], 'the watch stayed open');
    } finally {
      abort.abort();
    }
  });

  test('the worker identity is refused (403) outside its namespace and beyond its verbs', async () => {
    await refused(
      worker.createNamespacedPod({ namespace: 'default', body: pause('elsewhere') }),
      'create in default',
    );
    await refused(worker.listNamespacedPod({ namespace: 'default' }), 'list in default');
    await refused(worker.listPodForAllNamespaces({}), 'list in all namespaces');
    await refused(worker.listNamespacedSecret({ namespace: NS }), 'list secrets');
    await refused(
      worker.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'x' } } }),
      'create a configmap',
    );
    await refused(worker.listNode({}), 'list nodes');
    await worker.createNamespacedPod({ namespace: NS, body: pause('no-patch') });
    await refused(
      worker.replaceNamespacedPod({
        namespace: NS,
        name: 'no-patch',
        body: await worker.readNamespacedPod({ namespace: NS, name: 'no-patch' }),
      }),
      'update a pod',
    );
    await refused(
      worker.createNamespacedPodEviction({
        namespace: NS,
        name: 'no-patch',
        body: { metadata: { name: 'no-patch' } },
      }),
      'evict a pod',
    );
    await worker.deleteNamespacedPod({ namespace: NS, name: 'no-patch' });

    // A watch the worker may not open fails through the watch's done(err) callback, not its promise.
    const done = await new Promise<unknown>((resolve, reject) => {
      new Watch(workerConfig)
        .watch('/api/v1/namespaces/default/pods', {}, () => undefined, resolve)
        .catch(reject);
    });
    assert.match(String(done), /403|Forbidden/);
  });

  test('the pod built for config/apps/international-roaming.yaml passes a strict server-side dry run', async () => {
    const step = roamingStep();
    const identity = {
      app: 'international-roaming',
      step: 'build-and-submit',
      attempt: 1,
      revision: 1,
      workflowId: 'kappa/international-roaming',
      runId: '0193c2a4-7b7e-7d1a-9a53-2f4b6d1e8c01',
    };
    const manifest = buildPodManifest(step, identity, { namespace: NS, serviceAccount: 'kappa-submitter' });
    assert.equal(manifest.metadata?.namespace, NS);
    const accepted = await worker.createNamespacedPod({
      namespace: NS,
      body: manifest,
      dryRun: 'All',
      fieldValidation: 'Strict',
    });
    const name = podName('international-roaming', 'build-and-submit', 1, identity.runId);
    assert.equal(accepted.metadata?.name, name);
    assert.deepEqual(
      accepted.spec?.initContainers?.map((c) => [c.name, c.restartPolicy ?? null]),
      [
        ['kerberos-renewer', 'Always'],
        ['build', null],
      ],
      'the sidecar is stored as a native sidecar',
    );
    assert.equal(accepted.spec?.serviceAccountName, 'kappa-submitter');
    await assert.rejects(
      worker.readNamespacedPod({ namespace: NS, name }),
      (err) => code(err) === 404,
      'a dry run stores nothing',
    );

    // The client's models drop fields they do not know: the manifest as built, sent as is, is accepted too,
    // with no warning, and Strict really refuses an unknown field.
    const strict = `/api/v1/namespaces/${NS}/pods?dryRun=All&fieldValidation=Strict`;
    const raw = await asWorker('POST', strict, manifest);
    assert.equal(raw.status, 201, raw.body);
    assert.equal(raw.warning, undefined);
    const unknown = structuredClone(manifest) as V1Pod & { spec: { containers: { bogus?: string }[] } };
    unknown.spec.containers[0]!.bogus = 'x';
    const refused = await asWorker('POST', strict, unknown);
    assert.equal(refused.status, 400);
    assert.match(refused.body, /unknown field \\"spec.containers\[0\].bogus\\"/);
  });

  describe('with a test kubelet', () => {
    let kubelet: TestKubelet;
    let runner: PodStepRunner;
    before(async () => {
      kubelet = new TestKubelet({ admin: kube.admin, namespace: NS, tls: kube.tls });
      await kubelet.start();
      runner = new PodStepRunner(() => kubeClients(kube.kubeconfigPath), {
        defaults: { namespace: NS, serviceAccount: 'kappa-submitter' },
        tickMs: 200,
      });
    });
    after(() => kubelet?.stop());

    test('pods/log reaches the kubelet through the API server proxy', async () => {
      kubelet.script('log-probe', { main: { log: ['hello from the kubelet'], untilDeleted: true } });
      await worker.createNamespacedPod({ namespace: NS, body: pause('log-probe') });
      await waitFor(
        'the pod bound and running',
        async () => (await worker.readNamespacedPod({ namespace: NS, name: 'log-probe' })).spec?.nodeName,
        10_000,
      );
      const log = await worker.readNamespacedPodLog({ namespace: NS, name: 'log-probe', container: 'main' });
      assert.equal(log, 'hello from the kubelet\n');
      let streamed = '';
      const out = new Writable({
        write(chunk: Buffer, _enc, cb) {
          streamed += chunk.toString();
          cb();
        },
      });
      // The container runs on: a followed log stays open (as a kubelet keeps it) until the reader stops.
      const following = await new Log(workerConfig).log(NS, 'log-probe', 'main', out, { follow: true });
      await waitFor('the line streamed', () => streamed === 'hello from the kubelet\n', 10_000);
      following.abort();
      assert.ok(kubelet.logRequests.includes(`${NS}/log-probe/main`));
      // A running pod on a node is not deleted by the DELETE: it stays Terminating until the kubelet confirms.
      const terminating = await worker.deleteNamespacedPod({ namespace: NS, name: 'log-probe' });
      assert.equal(terminating.metadata?.deletionGracePeriodSeconds, 30);
      await gone('log-probe');
      assert.deepEqual(kubelet.errors, []);
    });

    test('PodStepRunner runs the example pod step to success: logs followed, YARN id read, pod deleted', async () => {
      const step = roamingStep();
      const name = podName('international-roaming', 'build-and-submit', 1, 'run-1');
      kubelet.script(name, {
        build: { log: ['[info] Compiling 42 Scala sources', '[success] Total time: 95 s'] },
        main: {
          log: [
            '25/11/25 14:00:02 INFO Client: Submitting application application_1700000000000_0042 to ResourceManager',
            '25/11/25 14:00:02 INFO YarnClientImpl: Submitted application application_1700000000000_0042',
          ],
        },
      });
      const { ctx, lines, heartbeats } = context('international-roaming');
      const result = await runner.run(step, ctx);
      assert.equal(result.yarnAppId, 'application_1700000000000_0042');
      assert.ok(lines.includes('[success] Total time: 95 s'), `build log followed: ${lines.join('\n')}`);
      assert.ok(lines.some((l) => l.includes('Submitted application')));
      assert.ok(heartbeats.some((h) => (h as { phase?: string }).phase === 'Running'));
      assert.ok(lines.includes(`created pod ${NS}/${name}`));
      await gone(name); // keepPod onFailure
      assert.deepEqual(kubelet.errors, []);
    });

    test('PodStepRunner: a failing main container fails the step and the pod is kept (keepPod onFailure)', async () => {
      const step = roamingStep();
      const name = podName('failing', 'build-and-submit', 1, 'run-1');
      kubelet.script(name, {
        main: { log: ['Exception in thread "main" org.apache.spark.SparkException: failed'], exitCode: 1 },
      });
      await assert.rejects(runner.run(step, context('failing').ctx), (err: Error & { type?: string }) => {
        assert.equal(err.type, 'StepFailed');
        assert.match(
          err.message,
          /container "main" exited with code 1 \(Error\); log ends:\n.*SparkException/,
        );
        return true;
      });
      const kept = await worker.readNamespacedPod({ namespace: NS, name });
      assert.equal(kept.status?.phase, 'Failed');
      assert.deepEqual(kubelet.errors, []);
    });

    test('PodStepRunner: cancelled while main runs, the pod is deleted and gone once the kubelet confirms', async () => {
      const step = roamingStep();
      step.keepPod = 'always'; // cancellation deletes whatever keepPod says
      const name = podName('cancelled', 'build-and-submit', 1, 'run-1');
      kubelet.script(name, { main: { untilDeleted: true } });
      const { ctx, controller, heartbeats } = context('cancelled');
      const result = runner.run(step, ctx);
      await waitFor(
        'main running',
        () =>
          heartbeats.some(
            (h) => (h as { containers?: Record<string, string> }).containers?.main === 'running',
          ),
        10_000,
      );
      controller.abort(new Error('stop requested'));
      await assert.rejects(result, /stop requested/);
      // The DELETE left the running pod Terminating for its grace period; the kubelet's confirmation removes it.
      await gone(name);
      assert.deepEqual(kubelet.errors, []);
    });
  });
});
