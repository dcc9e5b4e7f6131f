// `kappa validate --cluster` and config/kubernetes/worker.yaml against a real kube-apiserver v1.34.2
// (test/support/kube-apiserver.ts): strict server-side dry runs, as the worker identity of rbac.yaml for the pods
// Kappa creates, and as an admin for the worker's own manifests in a namespace enforcing PodSecurity `restricted`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import {
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
  type V1Deployment,
} from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { firstAttemptPod } from '../../src/cli/commands/validate.js';
import { durationMs } from '../../src/common/duration.js';
import { loadAppFile } from '../../src/config/load.js';
import { loadWorkerConfig, workerConfigSchema } from '../../src/config/worker-config.js';
import { dryRun } from '../../src/kubernetes/dry-run.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { rbacObjects, startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { tempDir } from '../support/harness.js';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const KAPPA = join(ROOT, 'bin', 'kappa');
const APPS = join(ROOT, 'config', 'apps');
const ROAMING = join(APPS, 'international-roaming.yaml');
const MODEL = join(APPS, 'fraud-scoring-model.yaml'); // a service step, then a pod using its address
const WORKER_CONFIG = join(ROOT, 'config', 'worker.yaml'); // kubernetes: spark-jobs, kappa-submitter
const WORKER_MANIFEST = join(ROOT, 'config', 'kubernetes', 'worker.yaml');
const NS = 'spark-jobs';

let kube: KubeApiServer;
let dir: string;

before(
  async () => {
    kube = await startKubeApiServer({ namespace: NS });
    dir = tempDir('validate-cluster');
  },
  { timeout: 30 * 60_000 },
);
after(() => kube?.stop());

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/kappa as a process; HOME is the test's directory, so only $KUBECONFIG can name a kubeconfig. */
async function kappa(args: string[], kubeconfig: string | null = kube.kubeconfigPath): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, CI: 'true' };
  delete env.KAPPA_WORKER_CONFIG;
  delete env.KUBECONFIG;
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  try {
    const { stdout, stderr } = await run(KAPPA, ['--worker-config', WORKER_CONFIG, ...args], {
      cwd: dir,
      env,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** `NAMESPACE/NAME` of the first pod step's pod, built as the CLI builds it (`kappa render` prints it). */
function podOf(file: string): { where: string; name: string } {
  const { config } = loadAppFile(file);
  const step = config.spec.steps.find((s) => s.pod)!;
  const pod = firstAttemptPod(config, step.name, step.pod!, loadWorkerConfig(WORKER_CONFIG).kubernetes);
  return { where: `${pod.metadata!.namespace}/${pod.metadata!.name}`, name: pod.metadata!.name! };
}

/** The roaming example renamed, its pod step changed by `pod`: a file in the test's directory. */
function roamingVariant(name: string, pod: Record<string, unknown>): string {
  const config = parse(readFileSync(ROAMING, 'utf8')) as {
    metadata: { name: string };
    spec: { yarn: { appName: string }; steps: { pod?: Record<string, unknown> }[] };
  };
  config.metadata.name = name;
  config.spec.yarn.appName = `App-${name}`;
  const step = config.spec.steps.find((s) => s.pod)!;
  step.pod = { ...step.pod, ...pod };
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

describe('kappa validate --cluster', { concurrency: true }, () => {
  test('the example apps: every pod, Deployment and Service accepted by the server (exit 0)', async (t) => {
    const ran = await kappa(['validate', '--cluster', APPS]);
    t.diagnostic(`\n${ran.stdout}${ran.stderr}`);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stderr, '');
    const lines = ran.stdout.trimEnd().split('\n');
    assert.deepEqual(lines, [
      `accepted  ${APPS}/clickstream-enrichment.yaml: step build-and-submit: pod ${podOf(`${APPS}/clickstream-enrichment.yaml`).where}`,
      `accepted  ${MODEL}: step model: deployment ${NS}/fraud-scoring-stream-model`,
      `accepted  ${MODEL}: step model: service ${NS}/fraud-scoring-stream-model`,
      `accepted  ${MODEL}: step submit: pod ${podOf(MODEL).where}`,
      `ok        ${APPS}/fraud-scoring.yaml (no pod steps)`,
      `accepted  ${ROAMING}: step build-and-submit: pod ${podOf(ROAMING).where}`,
      `ok        ${APPS}/nightly-billing.yaml (no pod steps)`,
      `all 5 objects (3 pods, 1 deployment, 1 service) accepted by ${kube.url} (context kappa-worker)`,
    ]);
  });

  test('a pod the local checks pass but the server refuses (no such ServiceAccount): exit 1, the server says why', async (t) => {
    const file = roamingVariant('no-account', { serviceAccount: 'nobody' });
    const local = await kappa(['validate', file]);
    assert.equal(local.code, 0, `the local checks cannot know: ${local.stderr}`);

    const ran = await kappa(['validate', '--cluster', file, ROAMING]);
    t.diagnostic(`\n${ran.stdout}${ran.stderr}`);
    assert.equal(ran.code, 1);
    assert.equal(ran.stdout, `accepted  ${ROAMING}: step build-and-submit: pod ${podOf(ROAMING).where}\n`);
    assert.equal(
      ran.stderr,
      [
        `refused   ${file}: step build-and-submit: pod ${podOf(file).where}: 403 Forbidden: pods "${podOf(file).name}" is forbidden: error looking up service account ${NS}/nobody: serviceaccount "nobody" not found`,
        `1 of 2 pods refused by ${kube.url} (context kappa-worker)`,
        '',
      ].join('\n'),
    );
  });

  test('a namespace the worker may not create pods in: 403 from RBAC, exit 1', async () => {
    const file = roamingVariant('elsewhere', { namespace: 'default' });
    const ran = await kappa(['validate', '--cluster', file]);
    assert.equal(ran.code, 1);
    assert.match(
      ran.stderr,
      /^refused {3}.*elsewhere\.yaml: step build-and-submit: pod default\/elsewhere-build-and-submit-1\S*: 403 Forbidden: pods is forbidden: User "system:serviceaccount:spark-jobs:kappa-worker" cannot create resource "pods" in API group "" in the namespace "default"\n/,
    );
  });

  test("accepted with the server's warnings (a namespace that warns on PodSecurity restricted): exit 0", async (t) => {
    const warned = 'warned-jobs';
    await kube.adminCore.createNamespace({
      body: { metadata: { name: warned, labels: { 'pod-security.kubernetes.io/warn': 'restricted' } } },
    });
    const objects = KubernetesObjectApi.makeApiClient(kube.admin);
    // The worker's Role there too, bound to the worker identity of spark-jobs; and the pods' ServiceAccount.
    for (const object of rbacObjects(warned).filter(
      (o) => o.kind !== 'RoleBinding' && o.kind !== 'ServiceAccount',
    ))
      await objects.create(object);
    await objects.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'kappa-worker', namespace: warned },
      subjects: [{ kind: 'ServiceAccount', name: 'kappa-worker', namespace: NS }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'kappa-worker' },
    } as KubernetesObject);
    await kube.adminCore.createNamespacedServiceAccount({
      namespace: warned,
      body: { metadata: { name: 'kappa-submitter' } },
    });

    // Without a security profile: the pod does not meet `restricted`, which the namespace only warns about.
    const file = roamingVariant('warned', {
      namespace: warned,
      securityProfile: undefined,
      podSecurityContext: undefined,
    });
    const ran = await kappa(['validate', '--cluster', file]);
    t.diagnostic(`\n${ran.stdout}${ran.stderr}`);
    assert.equal(ran.code, 0, ran.stderr);
    const [verdict, warning, summary] = ran.stdout.trimEnd().split('\n');
    assert.equal(verdict, `accepted  ${file}: step build-and-submit: pod ${podOf(file).where}`);
    assert.match(
      warning!,
      /^ {2}warning: would violate PodSecurity "restricted:latest": .*allowPrivilegeEscalation != false .*"main" must set securityContext\.allowPrivilegeEscalation=false/,
    );
    assert.equal(summary, `the pod accepted by ${kube.url} (context kappa-worker)`);
  });

  test('exit 2: an invalid config (nothing sent), no kubeconfig', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(ROAMING, 'utf8').replace('timeout: 30m', 'timeout: soon'));
    const invalid = await kappa(['validate', '--cluster', bad]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /bad\.yaml:\d+:\d+: spec\.steps\[0\]\.pod\.timeout: /);
    assert.match(invalid.stderr, /1 of 1 file invalid; nothing sent\n$/);
    assert.equal(invalid.stdout, '');

    const none = await kappa(['validate', '--cluster', ROAMING], null);
    assert.deepEqual(
      [none.code, none.stderr],
      [
        2,
        'kappa: no kubeconfig: set $KUBECONFIG, write ~/.kube/config, or run in a pod with a service account\n',
      ],
    );
  });

  test('exit 1: the cluster cannot be reached', async () => {
    const port = await freePort();
    const config = JSON.parse(readFileSync(kube.kubeconfigPath, 'utf8')) as {
      clusters: { cluster: { server: string } }[];
    };
    config.clusters[0]!.cluster.server = `https://127.0.0.1:${port}`;
    const unreachable = join(dir, 'unreachable.kubeconfig');
    writeFileSync(unreachable, JSON.stringify(config));
    const ran = await kappa(['validate', '--cluster', ROAMING], unreachable);
    assert.equal(ran.code, 1);
    assert.match(
      ran.stderr,
      new RegExp(`^kappa: .*: cannot reach https://127.0.0.1:${port}: .*ECONNREFUSED`),
    );
  });
});

describe('config/kubernetes/worker.yaml', () => {
  const RESTRICTED = 'kappa-restricted';
  const load = (file: string) =>
    parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubernetesObject);
  /** In the test's namespace instead of spark-jobs (the worker's pods namespace in its config stays). */
  const moved = (objects: KubernetesObject[]) =>
    objects.map((o) => ({ ...o, metadata: { ...o.metadata, namespace: RESTRICTED } }));
  const worker = load(WORKER_MANIFEST);
  const deployment = worker.find((o) => o.kind === 'Deployment') as V1Deployment;
  const podSpec = deployment.spec!.template.spec!;
  const container = podSpec.containers[0]!;

  before(async () => {
    await kube.adminCore.createNamespace({
      body: {
        metadata: {
          name: RESTRICTED,
          labels: Object.fromEntries(
            ['enforce', 'warn', 'audit'].map((mode) => [`pod-security.kubernetes.io/${mode}`, 'restricted']),
          ),
        },
      },
    });
    // Really created (not only dry-run): the ServiceAccount admission of the pod below looks kappa-worker up.
    const objects = KubernetesObjectApi.makeApiClient(kube.admin);
    for (const object of rbacObjects(RESTRICTED)) await objects.create(object);
  });

  test('holds the objects the docs name, its worker config valid and consistent with the pod', () => {
    assert.deepEqual(
      worker.map((o) => `${o.kind}/${o.metadata?.name}`),
      ['ConfigMap/kappa-worker-config', 'Deployment/kappa-worker'],
    );
    const configMap = worker[0] as KubernetesObject & { data: Record<string, string> };
    const config = workerConfigSchema.parse(parse(configMap.data['worker.yaml']!));
    assert.equal(podSpec.serviceAccountName, 'kappa-worker');
    assert.deepEqual(container.args, ['worker']);
    const env = Object.fromEntries(container.env!.map((e) => [e.name, e]));
    assert.equal(env.KAPPA_WORKER_CONFIG?.value, '/etc/kappa/config/worker.yaml');
    assert.deepEqual(env.TEMPORAL_API_KEY?.valueFrom?.secretKeyRef, {
      name: 'kappa-temporal',
      key: 'api-key',
      optional: true,
    });
    assert.ok(
      container.env!.every((e) => !/TOKEN|KEY|PASSWORD|SECRET/.test(e.name) || e.valueFrom?.secretKeyRef),
      'no secret inline',
    );
    const mounts = Object.fromEntries(container.volumeMounts!.map((m) => [m.name, m]));
    const volumes = Object.fromEntries(podSpec.volumes!.map((v) => [v.name, v]));
    assert.equal(volumes.config?.configMap?.name, configMap.metadata?.name);
    assert.equal(`${mounts.config?.mountPath}/worker.yaml`, env.KAPPA_WORKER_CONFIG?.value);
    assert.equal(volumes.ssh?.secret?.secretName, 'kappa-worker-ssh');
    assert.equal(volumes.ssh?.secret?.defaultMode, 0o400);
    assert.equal(mounts.ssh?.readOnly, true);
    for (const host of Object.values(config.hosts)) {
      assert.equal(host.privateKeyPath, `${mounts.ssh?.mountPath}/id_ed25519`);
      assert.equal(host.knownHostsPath, `${mounts.ssh?.mountPath}/known_hosts`);
    }
    assert.deepEqual(container.ports, [
      { name: 'metrics', containerPort: config.metrics.port, protocol: 'TCP' },
    ]);
    assert.equal(config.metrics.bindAddress, '0.0.0.0');
    assert.ok(
      podSpec.terminationGracePeriodSeconds! * 1000 > durationMs(config.shutdownGraceTime),
      'the kubelet waits longer than the worker drains',
    );
    assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(config.kubernetes.serviceAccount, 'kappa-submitter');
  });

  test('every object of rbac.yaml and worker.yaml: accepted by a strict server-side apply, no warnings, in a namespace enforcing PodSecurity restricted', async (t) => {
    const objects = [...rbacObjects(RESTRICTED), ...moved(worker)];
    for (const object of objects) {
      const verdict = await dryRun(kube.admin, object, { mode: 'apply', fieldManager: 'kappa-test' });
      const what = `${object.kind}/${object.metadata?.name}`;
      t.diagnostic(`${what}: ${verdict.status}`);
      assert.equal(verdict.accepted, true, `${what}: ${verdict.message}`);
      assert.deepEqual(verdict.warnings, [], what);
      assert.equal(verdict.object?.metadata?.namespace, RESTRICTED, what);
    }
  });

  test('applied for real (server-side apply, as `kubectl apply --server-side`): the objects stored as written', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kube.admin);
    const applied: KubernetesObject[] = [];
    for (const object of moved(worker)) {
      applied.push(
        await objects.patch(object, undefined, undefined, 'kappa-test', true, PatchStrategy.ServerSideApply),
      );
    }
    assert.deepEqual(
      applied.map((o) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`),
      worker.map((o) => `${o.kind}/${RESTRICTED}/${o.metadata?.name}`),
    );
    const stored = await objects.read({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: deployment.metadata!.name!, namespace: RESTRICTED },
    });
    const storedPod = (stored as V1Deployment).spec!.template.spec!;
    assert.equal(storedPod.serviceAccountName, 'kappa-worker');
    assert.deepEqual(
      storedPod.containers[0]!.ports?.map((p) => [p.name, p.containerPort]),
      [['metrics', 9464]],
    );
    // Applied again unchanged: nothing to do, the same generation.
    const again = await objects.patch(
      moved([deployment])[0]!,
      undefined,
      undefined,
      'kappa-test',
      true,
      PatchStrategy.ServerSideApply,
    );
    assert.equal(again.metadata?.generation, stored.metadata?.generation);
  });

  test("the Deployment's pod, as its ReplicaSet would create it, passes PodSecurity enforce=restricted", async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'kappa-worker-probe',
        namespace: RESTRICTED,
        labels: deployment.spec!.template.metadata!.labels,
      },
      spec: podSpec,
    };
    const verdict = await dryRun(kube.admin, pod);
    assert.equal(verdict.accepted, true, verdict.message);
    assert.deepEqual(verdict.warnings, []);
    const stored = verdict.object as KubernetesObject & { spec: typeof podSpec };
    assert.ok(
      stored.spec.volumes!.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)),
      'the ServiceAccount token is mounted: the in-cluster kubeconfig',
    );

    // The check bites: without the container's securityContext the pod is refused and the Deployment warned.
    const loose = structuredClone(pod);
    delete loose.spec.containers[0]!.securityContext;
    const refused = await dryRun(kube.admin, loose);
    assert.equal(refused.status, 403);
    assert.match(
      refused.message,
      /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/,
    );
    const looseDeployment = structuredClone(moved([deployment])[0]) as V1Deployment;
    delete looseDeployment.spec!.template.spec!.containers[0]!.securityContext;
    const warned = await dryRun(kube.admin, looseDeployment, { mode: 'apply', fieldManager: 'kappa-test' });
    assert.equal(warned.accepted, true);
    assert.match(warned.warnings.join('\n'), /would violate PodSecurity "restricted:latest"/);

    // And Strict refuses what a typed client would have dropped silently: a create with a 400, an apply (whose
    // patch cannot be typed) with the server's 500.
    const unknown = structuredClone(moved([deployment])[0]) as V1Deployment & { spec: { bogus?: number } };
    unknown.spec.bogus = 1;
    const created = await dryRun(kube.admin, unknown);
    assert.equal(created.accepted, false);
    assert.match(created.message, /^400 BadRequest: .*unknown field "spec\.bogus"/);
    const applied = await dryRun(kube.admin, unknown, { mode: 'apply', fieldManager: 'kappa-test' });
    assert.equal(applied.accepted, false);
    assert.match(
      applied.message,
      /^500 Failure: failed to create typed patch object .*\.spec\.bogus: field not declared in schema/,
    );
  });
});
