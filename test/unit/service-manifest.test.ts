// The service step's Deployment and Service (src/kubernetes/service-manifest.ts): what `kappa render` prints, what
// the worker server-side applies, and the addresses later steps get.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { V1Deployment, V1Pod, V1Service } from '@kubernetes/client-node';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Service } from 'kubernetes-models/v1/Service';
import { loadAppFile } from '../../src/config/load.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import {
  foreignObject,
  buildServiceManifests,
  SERVICE_FIELD_MANAGER,
  ServiceAnnotation,
  ServiceLabel,
  serviceObjectName,
  serviceSelector,
  serviceStepRefs,
  type ServiceIdentity,
} from '../../src/kubernetes/service-manifest.js';
import { podProblems, podSecurityViolation } from '../support/pod-checks.js';

const EXAMPLE = join(__dirname, '..', '..', 'config', 'apps', 'fraud-scoring-model.yaml');
const id: ServiceIdentity = {
  app: 'fraud',
  step: 'model',
  revision: 4,
  namespace: 'spark-jobs',
  serviceAccount: 'kappa-submitter',
};
const DNS1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function serviceStep(service: Record<string, unknown>) {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: 'fraud' },
    spec: { yarn: { host: 'local', appName: 'F' }, steps: [{ name: 'model', service }] },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  return result.config.spec.steps[0]!.service!;
}

const minimal = () => serviceStep({ image: 'registry.example.com/model:1', port: 8080 });

/** The pod the Deployment's ReplicaSet would create. */
function podOf(deployment: V1Deployment): V1Pod {
  const template = deployment.spec!.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...template.metadata, name: 'model-abc12', namespace: deployment.metadata!.namespace! },
    spec: template.spec!,
  };
}

describe('service manifests', () => {
  test('a minimal step: Deployment and Service for server-side apply, labelled, selecting by app and step only', () => {
    const m = buildServiceManifests(minimal(), id);
    assert.equal(SERVICE_FIELD_MANAGER, 'kappa');
    assert.equal(m.name, 'fraud-model');
    assert.equal(m.namespace, 'spark-jobs');
    assert.equal(m.host, 'fraud-model.spark-jobs.svc');
    assert.equal(m.url, 'http://fraud-model.spark-jobs.svc:8080');
    assert.equal(m.port, 8080);
    const selector = { 'kappa.dev/app': 'fraud', 'kappa.dev/step': 'model' };
    assert.deepEqual(m.selector, selector);
    const labels = {
      ...selector,
      'kappa.dev/revision': '4',
      'app.kubernetes.io/managed-by': 'kappa',
    };
    assert.equal(ServiceLabel.revision, 'kappa.dev/revision');

    const d = m.deployment as unknown as V1Deployment;
    new Deployment(d as never).validate();
    assert.equal(d.apiVersion, 'apps/v1');
    assert.equal(d.kind, 'Deployment');
    assert.deepEqual(d.metadata, { name: 'fraud-model', namespace: 'spark-jobs', labels });
    assert.equal(d.spec!.replicas, 1);
    assert.deepEqual(d.spec!.selector, { matchLabels: selector });
    assert.deepEqual(
      d.spec!.template.metadata!.labels,
      selector,
      'no revision label: a deploy alone rolls nothing',
    );
    assert.deepEqual(Object.keys(d.spec!.template.metadata!.annotations!), [ServiceAnnotation.specHash]);
    assert.equal(d.spec!.template.metadata!.annotations![ServiceAnnotation.specHash], m.specHash);
    assert.equal(d.spec!.progressDeadlineSeconds, 300);
    assert.deepEqual(d.spec!.strategy, { type: 'RollingUpdate' });
    const pod = d.spec!.template.spec!;
    assert.equal(pod.serviceAccountName, 'kappa-submitter');
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.enableServiceLinks, false);
    assert.equal(pod.securityContext, undefined);
    assert.deepEqual(pod.containers, [
      {
        name: 'model',
        image: 'registry.example.com/model:1',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 10, failureThreshold: 3 },
      },
    ]);
    assert.deepEqual(podProblems(podOf(d)), []);

    const s = m.service as unknown as V1Service;
    new Service(s as never).validate();
    assert.deepEqual(s, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'fraud-model', namespace: 'spark-jobs', labels },
      spec: {
        type: 'ClusterIP',
        selector,
        ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
      },
    });
  });

  test('every field: command, args, env and secretEnv, resources, probes, replicas, timeout', () => {
    const step = serviceStep({
      namespace: 'models',
      serviceAccount: 'model-runner',
      image: 'registry.example.com/model:2',
      command: ['serve'],
      args: ['--port', '9000'],
      env: { THREADS: '4' },
      secretEnv: { API_TOKEN: { secret: 'model-secrets', key: 'token' } },
      resources: { cpu: '2', memory: '4Gi' },
      replicas: 3,
      port: 9000,
      readinessProbe: { httpGet: { path: '/ready', port: 9001 }, initialDelay: '1500ms', period: '5s' },
      timeout: '2m30s',
    });
    const m = buildServiceManifests(step, id);
    assert.equal(m.namespace, 'models', "the step's namespace wins over the identity's default");
    assert.equal(m.url, 'http://fraud-model.models.svc:9000');
    const d = m.deployment as unknown as V1Deployment;
    assert.equal(d.spec!.replicas, 3);
    assert.equal(d.spec!.progressDeadlineSeconds, 150);
    const pod = d.spec!.template.spec!;
    assert.equal(pod.serviceAccountName, 'model-runner');
    assert.deepEqual(pod.containers[0], {
      name: 'model',
      image: 'registry.example.com/model:2',
      command: ['serve'],
      args: ['--port', '9000'],
      env: [
        { name: 'THREADS', value: '4' },
        { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'model-secrets', key: 'token' } } },
      ],
      ports: [{ name: 'http', containerPort: 9000, protocol: 'TCP' }],
      readinessProbe: {
        httpGet: { path: '/ready', port: 9001 },
        initialDelaySeconds: 2,
        periodSeconds: 5,
        failureThreshold: 3,
      },
      resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '4Gi' } },
    });
    new Deployment(d as never).validate();

    const tcp = buildServiceManifests(
      serviceStep({ image: 'm:1', port: 80, readinessProbe: { tcpSocket: {} } }),
      id,
    );
    assert.deepEqual(
      (tcp.deployment as unknown as V1Deployment).spec!.template.spec!.containers[0]!.readinessProbe,
      {
        tcpSocket: { port: 80 },
        periodSeconds: 10,
        failureThreshold: 3,
      },
    );
    const exec = buildServiceManifests(
      serviceStep({
        image: 'm:1',
        port: 80,
        readinessProbe: { exec: { command: ['ready'] }, failureThreshold: 1 },
      }),
      id,
    );
    assert.deepEqual(
      (exec.deployment as unknown as V1Deployment).spec!.template.spec!.containers[0]!.readinessProbe,
      {
        exec: { command: ['ready'] },
        periodSeconds: 10,
        failureThreshold: 1,
      },
    );
    const noAccount = buildServiceManifests(minimal(), { ...id, serviceAccount: '' });
    assert.equal(
      (noAccount.deployment as unknown as V1Deployment).spec!.template.spec!.serviceAccountName,
      undefined,
    );
  });

  test('securityProfile restricted: filled in as for pod steps, and the pod passes the restricted standard', () => {
    const loose = buildServiceManifests(minimal(), id);
    assert.ok(podSecurityViolation(podOf(loose.deployment), 'restricted'));
    const m = buildServiceManifests(
      serviceStep({
        image: 'm:1',
        port: 8080,
        securityProfile: 'restricted',
        podSecurityContext: { runAsUser: 1000 },
        securityContext: { readOnlyRootFilesystem: true },
      }),
      id,
    );
    const d = m.deployment as unknown as V1Deployment;
    const pod = d.spec!.template.spec!;
    assert.deepEqual(pod.securityContext, {
      runAsUser: 1000,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(pod.containers[0]!.securityContext, {
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    assert.equal(podSecurityViolation(podOf(d), 'restricted'), undefined);
  });

  test('the spec hash: the same for a new revision of the same spec, new when the pods would change', () => {
    const step = minimal();
    const hash = (s = step, revision = 1) => buildServiceManifests(s, { ...id, revision }).specHash;
    assert.match(hash(), /^[0-9a-f]{16}$/);
    assert.equal(hash(step, 1), hash(step, 2), 'a new revision alone does not roll the model');
    assert.equal(
      hash({ ...step, replicas: 5, timeout: '10m', unavailableTimeout: '5m' }),
      hash(),
      'not pod changes',
    );
    assert.notEqual(hash({ ...step, image: 'registry.example.com/model:2' }), hash());
    assert.notEqual(hash({ ...step, env: { A: '1' } }), hash());
    assert.notEqual(hash({ ...step, port: 8081 }), hash());
    assert.notEqual(
      buildServiceManifests(step, { ...id, serviceAccount: 'other' }).specHash,
      hash(),
      'the pods run as another account',
    );
  });

  test('object names: deterministic DNS-1035 labels of at most 63 characters', () => {
    assert.equal(serviceObjectName('fraud', 'model'), 'fraud-model');
    assert.equal(serviceObjectName('fraud', 'model'), serviceObjectName('fraud', 'model'));
    assert.equal(
      serviceObjectName('3d-render', 'model'),
      'svc-3d-render-model',
      'a Service name starts with a letter',
    );
    const long = 'a'.repeat(40);
    const one = serviceObjectName(long, `${'b'.repeat(30)}-one`);
    const two = serviceObjectName(long, `${'b'.repeat(30)}-two`);
    assert.notEqual(one, two);
    for (const name of [one, two, serviceObjectName('9'.repeat(63), '8'.repeat(63))]) {
      assert.ok(name.length <= 63, name);
      assert.match(name, DNS1035);
    }
    assert.match(one, /^a{40}-b{13}-[0-9a-f]{8}$/);
  });

  test('serviceStepRefs: the addresses of every service step, as the builder has them', () => {
    const { config } = loadAppFile(EXAMPLE);
    const defaults = { namespace: 'spark-jobs', serviceAccount: 'kappa-submitter' };
    const values = serviceStepRefs(config.metadata.name, config.spec.steps, defaults);
    assert.deepEqual(Object.keys(values), ['model']);
    const model = config.spec.steps.find((s) => s.name === 'model')!;
    const m = buildServiceManifests(model.service!, {
      app: config.metadata.name,
      step: 'model',
      revision: 1,
      ...defaults,
    });
    assert.deepEqual(values.model, { url: m.url, host: m.host, port: m.port });
    assert.equal(values.model.url, 'http://fraud-scoring-stream-model.spark-jobs.svc:8080');
  });
});

describe("foreignObject: whose an object of a service step's name is", () => {
  const selector = serviceSelector('clash', 'b-model');
  const kappa = (app: string, step: string) => ({
    'kappa.dev/app': app,
    'kappa.dev/step': step,
    'app.kubernetes.io/managed-by': 'kappa',
  });

  test("this step's own object: nothing to say", () => {
    assert.equal(foreignObject('Deployment m/clash-b-model', kappa('clash', 'b-model'), selector), undefined);
  });

  test("another app's, or another step's of this app", () => {
    assert.equal(
      foreignObject('Deployment m/clash-b-model', kappa('clash-b', 'model'), selector),
      'Deployment m/clash-b-model belongs to app "clash-b" step "model"',
    );
    assert.equal(
      foreignObject('Service m/clash-b-model', kappa('clash', 'other'), selector),
      'Service m/clash-b-model belongs to app "clash" step "other"',
    );
  });

  test("not Kappa's: no labels, or Kappa's labels without managed-by", () => {
    const notOurs = "Service m/x exists and is not Kappa's (no label app.kubernetes.io/managed-by=kappa)";
    assert.equal(foreignObject('Service m/x', undefined, selector), notOurs);
    assert.equal(
      foreignObject('Service m/x', { 'kappa.dev/app': 'clash', 'kappa.dev/step': 'b-model' }, selector),
      notOurs,
    );
  });
});
