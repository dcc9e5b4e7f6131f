// The pod manifest builder: what `kappa render` prints and the pod step creates.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadAppFile } from '../../src/config/load.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { buildPodManifest, podName, type PodIdentity } from '../../src/kubernetes/pod-manifest.js';
import { podProblems } from '../support/pod-checks.js';

const id: PodIdentity = {
  app: 'roaming',
  step: 'build',
  attempt: 3,
  revision: 2,
  workflowId: 'kappa/roaming',
  runId: 'r1',
};
const defaults = { namespace: 'spark-jobs', serviceAccount: 'kappa-submitter' };

function podStep(pod: Record<string, unknown>) {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: 'roaming' },
    spec: { yarn: { host: 'local', appName: 'R' }, steps: [{ name: 'build', pod }] },
  });
  assert.ok(result.ok, JSON.stringify(!result.ok && result.issues));
  return result.config.spec.steps[0]!.pod!;
}

describe('pod manifest', () => {
  test('every pod step in config/apps builds a pod the API server would accept', () => {
    const dir = join(__dirname, '..', '..', 'config', 'apps');
    let pods = 0;
    for (const file of readdirSync(dir)) {
      const { config } = loadAppFile(join(dir, file));
      for (const step of config.spec.steps) {
        if (!step.pod) continue;
        pods++;
        const pod = buildPodManifest(
          step.pod,
          { ...id, app: config.metadata.name, step: step.name },
          defaults,
        );
        assert.deepEqual(podProblems(pod), [], `${file} step ${step.name}`);
      }
    }
    assert.ok(pods >= 2);
  });

  test('sidecars are native sidecars placed before the build; everything mounts the shared volume', () => {
    const pod = buildPodManifest(
      podStep({
        image: 'spark:3.5',
        command: ['spark-submit'],
        args: ['--conf', 'spark.yarn.submit.waitAppCompletion=false', '/artifacts/app.jar'],
        env: { HADOOP_CONF_DIR: '/etc/hadoop/conf' },
        secretEnv: { KAFKA_PASSWORD: { secret: 'roaming-secrets', key: 'kafka-password' } },
        resources: { cpu: '500m', memory: '1Gi' },
        initContainers: [
          { name: 'build', image: 'sbt' },
          { name: 'test', image: 'sbt' },
        ],
        sidecars: [{ name: 'kinit', image: 'kinit' }],
        sharedVolume: '/work',
        timeout: '45m',
      }),
      id,
      defaults,
    );
    const spec = pod.spec!;
    assert.deepEqual(
      spec.initContainers!.map((c) => [c.name, (c as { restartPolicy?: string }).restartPolicy]),
      [
        ['kinit', 'Always'],
        ['build', undefined],
        ['test', undefined],
      ],
    );
    assert.equal(spec.containers[0]!.name, 'main');
    assert.deepEqual(spec.volumes, [{ name: 'kappa-shared', emptyDir: {} }]);
    for (const c of [...spec.initContainers!, ...spec.containers])
      assert.deepEqual(c.volumeMounts, [{ name: 'kappa-shared', mountPath: '/work' }]);
    assert.deepEqual(spec.containers[0]!.env, [
      { name: 'HADOOP_CONF_DIR', value: '/etc/hadoop/conf' },
      {
        name: 'KAFKA_PASSWORD',
        valueFrom: { secretKeyRef: { name: 'roaming-secrets', key: 'kafka-password' } },
      },
    ]);
    assert.deepEqual(spec.containers[0]!.resources, {
      requests: { cpu: '500m', memory: '1Gi' },
      limits: { memory: '1Gi' },
    });
    assert.deepEqual(
      [spec.restartPolicy, spec.activeDeadlineSeconds, spec.serviceAccountName],
      ['Never', 2700, 'kappa-submitter'],
    );
    assert.deepEqual(pod.metadata!.labels, {
      'kappa.dev/app': 'roaming',
      'kappa.dev/step': 'build',
      'kappa.dev/attempt': '3',
    });
    assert.equal(pod.metadata!.namespace, 'spark-jobs');
    assert.deepEqual(podProblems(pod), []);
    assert.ok(!JSON.stringify(pod).includes('hunter'), 'no secret values, only references');
  });

  test('the step overrides namespace and service account', () => {
    const pod = buildPodManifest(
      podStep({ image: 'i', namespace: 'other', serviceAccount: 'builder' }),
      id,
      defaults,
    );
    assert.deepEqual([pod.metadata!.namespace, pod.spec!.serviceAccountName], ['other', 'builder']);
    const bare = buildPodManifest(podStep({ image: 'i' }), id, { namespace: 'default' });
    assert.equal(bare.spec!.serviceAccountName, undefined);
    assert.equal(bare.spec!.initContainers, undefined);
  });

  test('names: deterministic per app, step, attempt and workflow run; at most 63 characters; hashed when cut', () => {
    // The run's hash: a pod kept from an earlier run (a BatchJob run, a deploy after a stop: each starts at
    // attempt 1) never has the name of a later run's pod; a retried activity of the same run computes the same.
    assert.equal(podName('roaming', 'build', 3, 'r1'), 'roaming-build-3-82f3e9');
    assert.equal(podName('roaming', 'build', 3, 'r1'), podName('roaming', 'build', 3, 'r1'));
    assert.notEqual(podName('roaming', 'build', 3, 'r2'), podName('roaming', 'build', 3, 'r1'));
    const longApp = 'a'.repeat(60);
    const a = podName(longApp, 'build-and-submit', 12, 'r1');
    const b = podName(longApp, 'build-and-check', 12, 'r1');
    for (const name of [a, b]) {
      assert.ok(name.length <= 63, name);
      assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      assert.match(name, /-12-[0-9a-f]{8}$/);
    }
    assert.notEqual(a, b);
    assert.notEqual(podName(longApp, 'build-and-submit', 13, 'r1'), a);
    assert.notEqual(podName(longApp, 'build-and-submit', 12, 'r2'), a);
    assert.equal(podName(longApp, 'build-and-submit', 12, 'r1'), a);
    assert.equal(podName('a'.repeat(63), 'b'.repeat(63), 1000, 'r').length, 63);
  });

  test('the checks catch what an API server rejects', () => {
    const pod = buildPodManifest(
      podStep({ image: 'i', initContainers: [{ name: 'build', image: 'x' }] }),
      id,
      defaults,
    );
    const duplicate = structuredClone(pod);
    duplicate.spec!.initContainers![0]!.name = 'main'; // the config rules refuse this before it gets here
    assert.match(podProblems(duplicate).join('\n'), /Duplicate value: "main"/);
    const bad = structuredClone(pod);
    (bad.spec!.containers[0] as { restartPolicy?: string }).restartPolicy = 'Always';
    bad.spec!.containers[0]!.volumeMounts = [{ name: 'nope', mountPath: '/x' }];
    const problems = podProblems(bad).join('\n');
    assert.match(problems, /spec.containers\[0\].restartPolicy: Forbidden/);
    assert.match(problems, /volumeMounts.name: Not found: "nope"/);
  });
});
