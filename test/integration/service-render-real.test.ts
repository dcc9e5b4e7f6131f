// The model-service example (config/apps/fraud-scoring-model.yaml) against a real kube-apiserver v1.34.2
// (test/support/kube-apiserver.ts): every object `kappa render` prints — the service step's Deployment and
// Service, the submit pod with `${steps.model.url}` resolved — is accepted by a strict server-side dry run in a
// namespace that enforces PodSecurity `restricted`; applied for real as field manager `kappa`, a new revision of
// the same spec changes no pod template and a new image does; `kappa validate --cluster` sends them as the worker.
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
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { loadAppFile } from '../../src/config/load.js';
import { loadWorkerConfig } from '../../src/config/worker-config.js';
import { dryRun } from '../../src/kubernetes/dry-run.js';
import {
  buildServiceManifests,
  SERVICE_FIELD_MANAGER,
  ServiceAnnotation,
} from '../../src/kubernetes/service-manifest.js';
import { tempDir } from '../support/harness.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const KAPPA = join(ROOT, 'bin', 'kappa');
const EXAMPLE = join(ROOT, 'config', 'apps', 'fraud-scoring-model.yaml');
const WORKER_CONFIG = join(ROOT, 'config', 'worker.yaml'); // kubernetes: spark-jobs, kappa-submitter
const NS = 'spark-jobs';

let kube: KubeApiServer;
let dir: string;

before(
  async () => {
    kube = await startKubeApiServer({ namespace: NS });
    dir = tempDir('service-render');
    // The namespace enforces (and warns about) the restricted standard: the example must meet it.
    await KubernetesObjectApi.makeApiClient(kube.admin).patch(
      {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: {
          name: NS,
          labels: Object.fromEntries(
            ['enforce', 'warn'].map((mode) => [`pod-security.kubernetes.io/${mode}`, 'restricted']),
          ),
        },
      },
      undefined,
      undefined,
      'kappa-test',
      true,
      PatchStrategy.ServerSideApply,
    );
  },
  { timeout: 30 * 60_000 },
);
after(() => kube?.stop());

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** bin/kappa as a process with the repository's worker config; HOME is the test's directory. */
async function kappa(args: string[], kubeconfig = kube.kubeconfigPath): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, CI: 'true', KUBECONFIG: kubeconfig };
  delete env.KAPPA_WORKER_CONFIG;
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

/** The revision-`revision` manifests of the example's model step, as the worker builds them. */
function modelManifests(revision: number, change: { image?: string } = {}) {
  const { config } = loadAppFile(EXAMPLE);
  const step = config.spec.steps.find((s) => s.service)!;
  const defaults = loadWorkerConfig(WORKER_CONFIG).kubernetes;
  return buildServiceManifests(
    { ...step.service!, ...change },
    { app: config.metadata.name, step: step.name, revision, ...defaults },
  );
}

describe('kappa render of the model-service example, against a real API server', () => {
  test('every object it prints: accepted by a strict server-side dry run, no warnings', async (t) => {
    const rendered = await kappa(['render', EXAMPLE]);
    assert.equal(rendered.code, 0, rendered.stderr);
    const docs = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as KubernetesObject);
    const objects = docs.filter((d) => d.kind !== undefined);
    assert.deepEqual(
      objects.map((o) => `${o.kind}/${o.metadata?.namespace}`),
      ['Deployment/spark-jobs', 'Service/spark-jobs', 'Pod/spark-jobs'],
    );
    const [deployment, service, pod] = objects as [V1Deployment, V1Service, V1Pod];

    // The reference is resolved to the Service the render prints, and the render says so.
    const url = `http://${service.metadata!.name}.${NS}.svc:${service.spec!.ports![0]!.port}`;
    assert.ok(pod.spec!.containers[0]!.args!.includes(`spark.kappa.modelUrl=${url}`));
    assert.match(
      rendered.stdout,
      new RegExp(`# step submit: \\$\\{steps\\.model\\.url\\} resolved to ${url}\n`),
    );
    assert.ok(!JSON.stringify(objects).includes('${steps.'), 'no reference left unresolved');

    for (const [object, mode] of [
      [deployment, 'apply'],
      [service, 'apply'],
      [pod, 'create'],
    ] as const) {
      const verdict = await dryRun(kube.admin, object, {
        mode,
        fieldManager: SERVICE_FIELD_MANAGER,
      });
      const what = `${object.kind}/${object.metadata!.name}`;
      t.diagnostic(`${what}: ${verdict.status} ${verdict.message}`);
      assert.equal(verdict.accepted, true, `${what}: ${verdict.message}`);
      assert.deepEqual(verdict.warnings, [], what);
    }

    // The Deployment's pods themselves, as its ReplicaSet would create them: PodSecurity enforce=restricted.
    const template = deployment.spec!.template;
    const replica = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { ...template.metadata, name: `${deployment.metadata!.name}-abcde`, namespace: NS },
      spec: template.spec,
    };
    const verdict = await dryRun(kube.admin, replica);
    assert.equal(verdict.accepted, true, verdict.message);
    assert.deepEqual(verdict.warnings, []);
    const stored = verdict.object as V1Pod;
    assert.ok(
      !stored.spec!.volumes?.some((v) => v.projected?.sources?.some((s) => s.serviceAccountToken)),
      'no ServiceAccount token mounted in the model server',
    );
  });

  test('applied for real as field manager kappa: a new revision of the same spec keeps the pod template, a new image changes it', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kube.admin);
    const apply = (object: Record<string, unknown>) =>
      objects.patch(object, undefined, undefined, SERVICE_FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    const first = modelManifests(1);
    const deployment = (await apply(first.deployment)) as V1Deployment;
    const service = (await apply(first.service)) as V1Service;
    assert.ok(
      deployment.metadata!.managedFields!.some((f) => f.manager === 'kappa' && f.operation === 'Apply'),
    );
    assert.equal(service.spec!.type, 'ClusterIP');
    assert.deepEqual(service.spec!.selector, first.selector);

    const second = modelManifests(2);
    assert.equal(second.specHash, first.specHash);
    const same = (await apply(second.deployment)) as V1Deployment;
    assert.equal(same.metadata!.labels!['kappa.dev/revision'], '2');
    assert.equal(same.metadata!.generation, deployment.metadata!.generation, 'no rollout');
    await apply(second.service);

    const third = modelManifests(3, { image: 'registry.example.com/models/fraud-gbt-server:2.4.0' });
    assert.notEqual(third.specHash, first.specHash);
    const rolled = (await apply(third.deployment)) as V1Deployment;
    assert.equal(rolled.metadata!.generation, deployment.metadata!.generation! + 1, 'a rollout');
    assert.equal(rolled.spec!.template.metadata!.annotations![ServiceAnnotation.specHash], third.specHash);
  });

  test('kappa validate --cluster: the Deployment and Service server-side applied, the pod created, as the worker', async (t) => {
    const ran = await kappa(['validate', '--cluster', EXAMPLE]);
    t.diagnostic(`\n${ran.stdout}${ran.stderr}`);
    assert.equal(ran.code, 0, ran.stderr);
    const name = 'fraud-scoring-stream-model';
    const lines = ran.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 2), [
      `accepted  ${EXAMPLE}: step model: deployment ${NS}/${name}`,
      `accepted  ${EXAMPLE}: step model: service ${NS}/${name}`,
    ]);
    assert.match(
      lines[2]!,
      new RegExp(`^accepted  ${EXAMPLE}: step submit: pod ${NS}/fraud-scoring-stream-submit-1-`),
    );
    assert.equal(
      lines[3],
      `all 3 objects (1 deployment, 1 service, 1 pod) accepted by ${kube.url} (context kappa-worker)`,
    );

    // Where the worker may not apply Deployments (its Role is in spark-jobs only): the server's 403, exit 1.
    const elsewhere = join(dir, 'elsewhere.yaml');
    writeFileSync(
      elsewhere,
      readFileSync(EXAMPLE, 'utf8').replace(
        '      service:\n',
        '      service:\n        namespace: default\n',
      ),
    );
    const refused = await kappa(['validate', '--cluster', elsewhere]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^refused {3}.*elsewhere\.yaml: step model: deployment default\/fraud-scoring-stream-model: 403 Forbidden: deployments\.apps "fraud-scoring-stream-model" is forbidden: User "system:serviceaccount:spark-jobs:kappa-worker" cannot patch resource "deployments" in API group "apps" in the namespace "default"\n/m,
    );
    assert.match(refused.stderr, /2 of 3 objects \(1 deployment, 1 service, 1 pod\) refused by /);
  });
});
