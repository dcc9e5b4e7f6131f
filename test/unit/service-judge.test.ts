// The pure service judgement (src/kubernetes/service-judge.ts): when a Deployment's rollout is done, what fails it
// early (image pulls, crash loops, the progress deadline, pods that cannot be created), and the one-line reason
// for everything else, on objects as the deployment controller, the scheduler and the kubelet write them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Deployment,
  V1DeploymentCondition,
  V1DeploymentStatus,
  V1Pod,
  V1ReplicaSet,
} from '@kubernetes/client-node';
import {
  currentPods,
  explainRollout,
  isAvailable,
  ServiceJudge,
  type RolloutView,
} from '../../src/kubernetes/service-judge.js';

const T0 = Date.parse('2025-11-25T14:00:00Z');
const NS = 'models';

const cond = (type: string, status: string, reason: string, message = ''): V1DeploymentCondition => ({
  type,
  status,
  reason,
  message,
});
const AVAILABLE = cond(
  'Available',
  'True',
  'MinimumReplicasAvailable',
  'Deployment has minimum availability.',
);
const UNAVAILABLE = cond(
  'Available',
  'False',
  'MinimumReplicasUnavailable',
  'Deployment does not have minimum availability.',
);

function deployment(status: V1DeploymentStatus, extra: { generation?: number; replicas?: number } = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'scorer',
      namespace: NS,
      uid: 'd-uid',
      generation: extra.generation ?? 2,
      annotations: { 'deployment.kubernetes.io/revision': '2' },
    },
    spec: {
      replicas: extra.replicas ?? 2,
      selector: { matchLabels: { app: 'scorer' } },
      template: { spec: { containers: [{ name: 'model', image: 'scorer:2' }] } },
    },
    status: { observedGeneration: 2, ...status },
  } satisfies V1Deployment;
}

const rs = (revision: string, hash: string): V1ReplicaSet => ({
  metadata: {
    name: `scorer-${hash}`,
    uid: `rs-${hash}`,
    labels: { app: 'scorer', 'pod-template-hash': hash },
    annotations: { 'deployment.kubernetes.io/revision': revision },
    ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'scorer', uid: 'd-uid' }],
  },
});
const REPLICA_SETS = [rs('1', 'old111'), rs('2', 'new222')];

const container = (state: V1ContainerState, extra: Partial<V1ContainerStatus> = {}): V1ContainerStatus => ({
  name: 'model',
  image: 'scorer:2',
  imageID: '',
  ready: false,
  restartCount: 0,
  state,
  ...extra,
});
const runningSince = (at: number): V1ContainerState => ({ running: { startedAt: new Date(at) } });
const waiting = (reason: string, message?: string): V1ContainerState => ({ waiting: { reason, message } });

function pod(
  name: string,
  c: V1ContainerStatus | undefined,
  options: { hash?: string; ready?: boolean; unscheduled?: string } = {},
): V1Pod {
  const hash = options.hash ?? 'new222';
  return {
    metadata: {
      name,
      uid: `${name}-uid`,
      labels: { app: 'scorer', 'pod-template-hash': hash },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `scorer-${hash}`, uid: `rs-${hash}` },
      ],
    },
    spec: {
      containers: [{ name: 'model', image: 'scorer:2' }],
      ...(options.unscheduled === undefined ? { nodeName: 'node-1' } : {}),
    },
    status: {
      phase: options.unscheduled === undefined ? 'Running' : 'Pending',
      conditions: [
        ...(options.unscheduled !== undefined
          ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: options.unscheduled }]
          : []),
        { type: 'Ready', status: options.ready ? 'True' : 'False' },
      ],
      ...(c ? { containerStatuses: [c] } : {}),
    },
  };
}

const view = (d: V1Deployment, pods: V1Pod[], replicaSets: V1ReplicaSet[] | null = REPLICA_SETS) =>
  ({ deployment: d, pods, ...(replicaSets ? { replicaSets } : {}) }) satisfies RolloutView;

const ROLLING: V1DeploymentStatus = {
  replicas: 2,
  updatedReplicas: 2,
  readyReplicas: 0,
  availableReplicas: 0,
  unavailableReplicas: 2,
  conditions: [UNAVAILABLE, cond('Progressing', 'True', 'ReplicaSetUpdated')],
};

describe('isAvailable', () => {
  const done: V1DeploymentStatus = {
    replicas: 2,
    updatedReplicas: 2,
    readyReplicas: 2,
    availableReplicas: 2,
    conditions: [AVAILABLE, cond('Progressing', 'True', 'NewReplicaSetAvailable')],
  };

  test('every replica new and available, controller caught up, Available=True', () => {
    assert.equal(isAvailable(deployment(done)), true);
    assert.equal(isAvailable(deployment({ ...done, unavailableReplicas: 0 })), true);
  });

  test('not while the controller has not seen the latest generation (the old template is what runs)', () => {
    assert.equal(isAvailable(deployment({ ...done, observedGeneration: 1 })), false);
  });

  test('not while replicas are old, unavailable or left over, or the condition is not True', () => {
    assert.equal(isAvailable(deployment({ ...done, updatedReplicas: 1 })), false);
    assert.equal(isAvailable(deployment({ ...done, availableReplicas: 1 })), false);
    assert.equal(isAvailable(deployment({ ...done, replicas: 3 })), false, 'an old pod still counted');
    assert.equal(isAvailable(deployment({ ...done, unavailableReplicas: 1 })), false);
    assert.equal(isAvailable(deployment({ ...done, conditions: [UNAVAILABLE] })), false);
    assert.equal(isAvailable(deployment({ ...done, conditions: [] })), false);
    assert.equal(isAvailable(deployment({})), false, 'no status yet');
  });

  test('the judge says available, whatever the pods', () => {
    assert.deepEqual(new ServiceJudge().judge(view(deployment(done), []), T0), { kind: 'available' });
  });
});

describe('ServiceJudge: failing early for what will not heal', () => {
  test('an image pull error fails after the grace, with the kubelet message and the image', () => {
    const judge = new ServiceJudge({ imagePullGraceMs: 10_000 });
    const msg = 'Back-off pulling image "scorer:2": not found';
    const v = (at: number) =>
      judge.judge(
        view(deployment(ROLLING), [pod('scorer-new222-a', container(waiting('ImagePullBackOff', msg)))]),
        at,
      );
    assert.equal(v(T0).kind, 'progressing', 'a registry hiccup gets its grace');
    assert.equal(v(T0 + 9_000).kind, 'progressing');
    const verdict = v(T0 + 10_000);
    assert.deepEqual(verdict, {
      kind: 'failed',
      code: 'ImagePull',
      reason: `Deployment models/scorer: pod scorer-new222-a: container "model" cannot start: image scorer:2 (ImagePullBackOff: ${msg})`,
    });
  });

  test('the grace restarts when the pull error clears', () => {
    const judge = new ServiceJudge({ imagePullGraceMs: 10_000 });
    const at = (state: V1ContainerState, t: number) =>
      judge.judge(view(deployment(ROLLING), [pod('p', container(state))]), t).kind;
    assert.equal(at(waiting('ErrImagePull'), T0), 'progressing');
    assert.equal(at(runningSince(T0 + 5_000), T0 + 6_000), 'progressing');
    assert.equal(at(waiting('ErrImagePull'), T0 + 12_000), 'progressing', 'counted from its return');
    assert.equal(at(waiting('ErrImagePull'), T0 + 22_000), 'failed');
  });

  test('InvalidImageName fails at once', () => {
    const v = new ServiceJudge().judge(
      view(deployment(ROLLING), [
        pod('p', container(waiting('InvalidImageName', 'invalid reference format'))),
      ]),
      T0,
    );
    assert.equal(v.kind, 'failed');
    assert.match(v.kind === 'failed' ? v.reason : '', /InvalidImageName: invalid reference format/);
  });

  test('a crash loop fails with the container, exit code, restarts and last termination reason', () => {
    const crash = (restarts: number) =>
      container(waiting('CrashLoopBackOff', 'back-off 20s restarting failed container=model'), {
        restartCount: restarts,
        lastState: {
          terminated: { exitCode: 137, reason: 'OOMKilled', message: 'model weights too large\n' },
        },
      });
    const judge = new ServiceJudge({ crashLoopRestarts: 2 });
    assert.equal(judge.judge(view(deployment(ROLLING), [pod('p', crash(1))]), T0).kind, 'progressing');
    assert.deepEqual(judge.judge(view(deployment(ROLLING), [pod('p', crash(2))]), T0), {
      kind: 'failed',
      code: 'CrashLoopBackOff',
      reason:
        'Deployment models/scorer: pod p: container "model" is crash-looping (exit code 137, last termination ' +
        'OOMKilled, 2 restarts: model weights too large)',
    });
  });

  test('ProgressDeadlineExceeded fails, saying what the pods say', () => {
    const d = deployment({
      ...ROLLING,
      conditions: [
        UNAVAILABLE,
        cond(
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          'ReplicaSet "scorer-new222" has timed out progressing.',
        ),
      ],
    });
    const pods = ['a', 'b'].map((n) => pod(n, container(runningSince(T0 - 120_000))));
    const v = new ServiceJudge().judge(view(d, pods), T0);
    assert.deepEqual(v, {
      kind: 'failed',
      code: 'ProgressDeadlineExceeded',
      reason:
        'Deployment models/scorer exceeded its progress deadline (600s): readiness probe not passing: container ' +
        'model running, not ready for 2m (0/2 pods ready)',
    });
  });

  test('pods that cannot be created (ReplicaFailure) fail after the grace, with the API server words', () => {
    const judge = new ServiceJudge({ imagePullGraceMs: 5_000 });
    const message =
      'pods "scorer-new222-" is forbidden: error looking up service account models/model-sa: serviceaccount "model-sa" not found';
    const d = deployment({
      ...ROLLING,
      replicas: 0,
      updatedReplicas: 0,
      conditions: [UNAVAILABLE, cond('ReplicaFailure', 'True', 'FailedCreate', message)],
    });
    assert.equal(judge.judge(view(d, []), T0).kind, 'progressing');
    const v = judge.judge(view(d, []), T0 + 5_000);
    assert.deepEqual(v, {
      kind: 'failed',
      code: 'ReplicaFailure',
      reason: `Deployment models/scorer: its pods cannot be created (FailedCreate): ${message}`,
    });
  });

  test('a Deployment being deleted fails the wait', () => {
    const d = deployment(ROLLING);
    d.metadata = { ...d.metadata, deletionTimestamp: new Date(T0) } as typeof d.metadata;
    assert.deepEqual(new ServiceJudge().judge(view(d, []), T0), {
      kind: 'failed',
      code: 'Deleting',
      reason: 'Deployment models/scorer is being deleted',
    });
  });

  test('old pods are not judged: a crash loop of the previous revision does not fail the new one', () => {
    const crash = container(waiting('CrashLoopBackOff'), { restartCount: 9 });
    const v = new ServiceJudge().judge(
      view(deployment(ROLLING), [
        pod('old', crash, { hash: 'old111' }),
        pod('new', container(runningSince(T0))),
      ]),
      T0,
    );
    assert.equal(v.kind, 'progressing');
  });

  test('nothing is judged before the controller has seen the new generation', () => {
    const d = deployment({ ...ROLLING, observedGeneration: 1 }, { generation: 2 });
    const v = new ServiceJudge().judge(view(d, [pod('p', container(waiting('InvalidImageName')))]), T0);
    assert.deepEqual(v, {
      kind: 'progressing',
      detail:
        'Deployment models/scorer: the deployment controller has not seen generation 2 yet (observed 1)',
    });
  });
});

describe('explainRollout: the reason for a timeout or an unavailable service', () => {
  test('readiness not passing, for how long, pods ready of wanted', () => {
    const pods = [
      pod('a', container(runningSince(T0 - 150_000))),
      pod('b', container(runningSince(T0 - 60_000))),
    ];
    assert.equal(
      explainRollout(view(deployment(ROLLING), pods), T0),
      'Deployment models/scorer: readiness probe not passing: container model running, not ready for 2m30s (0/2 pods ready)',
    );
  });

  test('pods not scheduled, with the scheduler message', () => {
    const message = '0/1 nodes are available: 1 Insufficient nvidia.com/gpu.';
    const d = deployment({ ...ROLLING }, { replicas: 1 });
    assert.equal(
      explainRollout(view(d, [pod('a', undefined, { unscheduled: message })]), T0),
      `Deployment models/scorer: 0/1 pods scheduled: ${message} (0/1 pods ready)`,
    );
  });

  test('waiting containers are named with their reason, once per kind', () => {
    const pods = ['a', 'b'].map((n) =>
      pod(n, container(waiting('CrashLoopBackOff', 'back-off 10s'), { restartCount: 1 })),
    );
    assert.equal(
      explainRollout(view(deployment(ROLLING), pods), T0),
      'Deployment models/scorer: container model waiting (CrashLoopBackOff: back-off 10s, 1 restarts) in 2 pods (0/2 pods ready)',
    );
  });

  test('old pods left to stop, missing pods, no status yet', () => {
    const d = deployment({
      ...ROLLING,
      replicas: 3,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    const ready = [
      pod('a', container(runningSince(T0), { ready: true }), { ready: true }),
      pod('b', container(runningSince(T0), { ready: true }), { ready: true }),
    ];
    assert.equal(
      explainRollout(view(d, ready), T0),
      'Deployment models/scorer: 1 old pods left to stop (2/2 pods ready)',
    );
    assert.equal(
      explainRollout(view(deployment(ROLLING), [ready[0]!]), T0),
      'Deployment models/scorer: 1/2 pods created (1/2 pods ready)',
    );
  });

  test('the current ReplicaSet is the one of the Deployment revision; without ReplicaSets every pod counts', () => {
    const pods = [
      pod('old', container(runningSince(T0)), { hash: 'old111' }),
      pod('new', container(runningSince(T0))),
    ];
    assert.deepEqual(
      currentPods(view(deployment(ROLLING), pods)).map((p) => p.metadata?.name),
      ['new'],
    );
    assert.deepEqual(
      currentPods(view(deployment(ROLLING), pods, null)).map((p) => p.metadata?.name),
      ['old', 'new'],
    );
    const other = { ...rs('2', 'new222'), metadata: { ...rs('2', 'new222').metadata, ownerReferences: [] } };
    assert.deepEqual(
      currentPods(view(deployment(ROLLING), pods, [other])),
      [],
      'not owned by this Deployment',
    );
  });
});
