// The pod manifest builder: what `kappa render` prints and the pod step creates.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { loadAppFile } from '../../src/config/load.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { buildPodManifest, podName, type PodIdentity } from '../../src/kubernetes/pod-manifest.js';
import { podProblems, podSecurityViolation } from '../support/pod-checks.js';

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

describe('pod security', () => {
  const FULL = {
    image: 'spark:3.5',
    initContainers: [{ name: 'build', image: 'sbt:1.7' }],
    sidecars: [{ name: 'kinit', image: 'kinit:1.0' }],
  };
  const containers = (pod: V1Pod) => [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers];

  test('a plain pod sets no securityContext, meets baseline and fails restricted as a namespace would say', () => {
    const pod = buildPodManifest(podStep(FULL), id, defaults);
    assert.equal(pod.spec!.securityContext, undefined);
    for (const c of containers(pod)) assert.equal(c.securityContext, undefined, c.name);
    assert.equal(podSecurityViolation(pod, 'baseline'), undefined);
    assert.equal(
      podSecurityViolation(pod, 'restricted'),
      'allowPrivilegeEscalation != false (containers "kinit", "build", "main" must set securityContext.allowPrivilegeEscalation=false), ' +
        'unrestricted capabilities (containers "kinit", "build", "main" must set securityContext.capabilities.drop=["ALL"]), ' +
        'runAsNonRoot != true (pod or containers "kinit", "build", "main" must set securityContext.runAsNonRoot=true), ' +
        'seccompProfile (pod or containers "kinit", "build", "main" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    );
  });

  test('securityProfile restricted fills in the pod and every container, and the pod meets restricted', () => {
    const pod = buildPodManifest(podStep({ ...FULL, securityProfile: 'restricted' }), id, defaults);
    assert.deepEqual(pod.spec!.securityContext, {
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    for (const c of containers(pod)) {
      assert.deepEqual(
        c.securityContext,
        { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        c.name,
      );
    }
    assert.equal(podSecurityViolation(pod, 'restricted'), undefined);
    assert.deepEqual(podProblems(pod), []);
  });

  test('what is set is kept, Kubernetes-shaped; restricted fills in only the rest', () => {
    const pod = buildPodManifest(
      podStep({
        ...FULL,
        securityProfile: 'restricted',
        podSecurityContext: {
          runAsUser: 185,
          runAsGroup: 185,
          fsGroup: 185,
          seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/spark.json' },
        },
        securityContext: {
          readOnlyRootFilesystem: true,
          capabilities: { add: ['NET_BIND_SERVICE'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
        initContainers: [
          { name: 'build', image: 'sbt:1.7', securityContext: { runAsUser: 1000, runAsNonRoot: true } },
        ],
      }),
      id,
      defaults,
    );
    assert.deepEqual(pod.spec!.securityContext, {
      runAsUser: 185,
      runAsGroup: 185,
      runAsNonRoot: true,
      fsGroup: 185,
      seccompProfile: { type: 'Localhost', localhostProfile: 'profiles/spark.json' },
    });
    const [kinit, build] = pod.spec!.initContainers!;
    const main = pod.spec!.containers[0]!;
    assert.deepEqual(main.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      readOnlyRootFilesystem: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(build!.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      runAsUser: 1000,
      runAsNonRoot: true,
    });
    assert.deepEqual(kinit!.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    assert.equal(podSecurityViolation(pod, 'restricted'), undefined);
    assert.deepEqual(podProblems(pod), []);
  });

  test('without a profile the settings pass through as written; baseline fills nothing in', () => {
    const step = {
      ...FULL,
      podSecurityContext: { runAsNonRoot: true },
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    };
    for (const securityProfile of [undefined, 'baseline']) {
      const pod = buildPodManifest(podStep({ ...step, securityProfile }), id, defaults);
      assert.deepEqual(pod.spec!.securityContext, { runAsNonRoot: true });
      assert.deepEqual(pod.spec!.containers[0]!.securityContext, step.securityContext);
      assert.equal(pod.spec!.initContainers![0]!.securityContext, undefined);
      assert.match(
        podSecurityViolation(pod, 'restricted') ?? '',
        /^allowPrivilegeEscalation != false \(containers "kinit", "build" must/,
      );
      assert.deepEqual(podProblems(pod), []);
    }
  });

  test('the manifests are valid Kubernetes objects with every security field set', () => {
    const sc = {
      allowPrivilegeEscalation: false,
      capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] },
      privileged: false,
      readOnlyRootFilesystem: true,
      runAsUser: 2147483647,
      runAsGroup: 0,
      runAsNonRoot: true,
      seccompProfile: { type: 'Unconfined' },
    };
    const pod = buildPodManifest(
      podStep({
        image: 'spark:3.5',
        podSecurityContext: {
          runAsUser: 1,
          runAsGroup: 2,
          runAsNonRoot: false,
          fsGroup: 3,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        securityContext: sc,
        initContainers: [{ name: 'build', image: 'sbt:1.7', securityContext: sc }],
        sidecars: [{ name: 'kinit', image: 'kinit:1.0', securityContext: sc }],
      }),
      id,
      defaults,
    );
    assert.deepEqual(podProblems(pod), []);
    for (const c of containers(pod)) assert.deepEqual(c.securityContext, sc, c.name);
    const wrong = structuredClone(pod);
    (wrong.spec!.containers[0]!.securityContext as Record<string, unknown>).runAsUser = 'root';
    assert.match(podProblems(wrong).join('\n'), /^schema: /);
  });

  test('the example in config/apps that asks for restricted meets it', () => {
    const { config } = loadAppFile(
      join(__dirname, '..', '..', 'config', 'apps', 'international-roaming.yaml'),
    );
    const step = config.spec.steps.find((s) => s.pod)!;
    assert.equal(step.pod!.securityProfile, 'restricted');
    const pod = buildPodManifest(step.pod!, id, defaults);
    assert.equal(podSecurityViolation(pod, 'restricted'), undefined);
  });

  // What PodSecurity admission answered to these pods on a real kube-apiserver v1.34.2 (dry-run creates in
  // namespaces enforcing each level), after `violates PodSecurity "<level>:latest": `; undefined: accepted. The
  // port in test/support/pod-checks.ts must say the same, word for word.
  const c = (name: string, securityContext?: object, extra: object = {}) => ({
    name,
    image: 'busybox:1.36',
    ...(securityContext ? { securityContext } : {}),
    ...extra,
  });
  const RECORDED: { name: string; spec: object; baseline?: string; restricted?: string }[] = [
    {
      name: 'host access of every kind',
      spec: {
        hostNetwork: true,
        hostPID: true,
        securityContext: {
          seccompProfile: { type: 'Unconfined' },
          sysctls: [{ name: 'kernel.msgmax', value: '1' }],
        },
        containers: [
          c(
            'main',
            { capabilities: { add: ['NET_ADMIN', 'CHOWN'] }, runAsUser: 0 },
            { ports: [{ containerPort: 8080, hostPort: 8080 }] },
          ),
        ],
        volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }],
      },
      baseline:
        'non-default capabilities (container "main" must not include "NET_ADMIN" in securityContext.capabilities.add), host namespaces (hostNetwork=true, hostPID=true), hostPath volumes (volume "logs"), hostPort (container "main" uses hostPort 8080), seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined"), forbidden sysctls (kernel.msgmax)',
      restricted:
        'host namespaces (hostNetwork=true, hostPID=true), hostPort (container "main" uses hostPort 8080), forbidden sysctls (kernel.msgmax), allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "main" must set securityContext.capabilities.drop=["ALL"]; container "main" must not include "CHOWN", "NET_ADMIN" in securityContext.capabilities.add), restricted volume types (volume "logs" uses restricted volume type "hostPath"), runAsNonRoot != true (pod or container "main" must set securityContext.runAsNonRoot=true), runAsUser=0 (container "main" must not set runAsUser=0), seccompProfile (pod must not set securityContext.seccompProfile.type to "Unconfined")',
    },
    {
      name: 'almost restricted',
      spec: {
        securityContext: { runAsNonRoot: false },
        initContainers: [
          c('build', {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['NET_RAW'], add: ['CHOWN', 'NET_BIND_SERVICE'] },
            seccompProfile: { type: 'Localhost', localhostProfile: 'build.json' },
          }),
        ],
        containers: [
          c('main', {
            allowPrivilegeEscalation: true,
            capabilities: { drop: ['ALL'] },
            runAsNonRoot: false,
            seLinuxOptions: { type: 'spc_t' },
          }),
          c('side', {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            appArmorProfile: { type: 'Unconfined' },
          }),
        ],
        volumes: [{ name: 'data', nfs: { server: 'nfs.example.com', path: '/d' } }],
      },
      baseline:
        'forbidden AppArmor profile (container "side" must not set AppArmor profile type to "Unconfined"), seLinuxOptions (container "main" set forbidden securityContext.seLinuxOptions: type "spc_t")',
      restricted:
        'forbidden AppArmor profile (container "side" must not set AppArmor profile type to "Unconfined"), seLinuxOptions (container "main" set forbidden securityContext.seLinuxOptions: type "spc_t"), allowPrivilegeEscalation != false (container "main" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "build" must set securityContext.capabilities.drop=["ALL"]; container "build" must not include "CHOWN" in securityContext.capabilities.add), restricted volume types (volume "data" uses restricted volume type "nfs"), runAsNonRoot != true (pod and container "main" must not set securityContext.runAsNonRoot=false), seccompProfile (pod or containers "main", "side" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    },
    {
      name: 'restricted container by container, one seccomp profile missing',
      spec: {
        containers: [
          c('main', {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
          }),
          c('helper', {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            runAsNonRoot: true,
          }),
        ],
      },
      restricted:
        'seccompProfile (pod or container "helper" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
    },
  ];
  for (const r of RECORDED) {
    test(`the Pod Security Standards checks say what the API server said: ${r.name}`, () => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: r.spec } as V1Pod;
      assert.equal(podSecurityViolation(pod, 'baseline'), r.baseline);
      assert.equal(podSecurityViolation(pod, 'restricted'), r.restricted);
    });
  }
});
