// The pure pod judgement (src/kubernetes/pod-judge.ts): verdicts, whether a pod has ended, and its state in one
// line, on pod objects as a kubelet and the scheduler write them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1ContainerState, V1ContainerStatus, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import { describePod, PodJudge, podEnded } from '../../src/kubernetes/pod-judge.js';
import { buildPodManifest } from '../../src/kubernetes/pod-manifest.js';
import { testPodStep } from '../support/pod-step-fixtures.js';

const step = (extra: Record<string, unknown> = {}) => testPodStep({ timeout: '10m', ...extra });

const T0 = Date.parse('2025-11-25T14:00:00Z');

const container = (name: string, state: V1ContainerState, extra: Partial<V1ContainerStatus> = {}) =>
  ({
    name,
    image: `${name}:1`,
    imageID: '',
    ready: false,
    restartCount: 0,
    state,
    ...extra,
  }) as V1ContainerStatus;
const running: V1ContainerState = { running: { startedAt: new Date(T0) } };
const waiting = (reason: string, message?: string): V1ContainerState => ({ waiting: { reason, message } });
const exited = (exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error'): V1ContainerState => ({
  terminated: { exitCode, reason },
});

/** The step's pod as built, with this status (nodeName set unless `unbound`). */
function pod(
  status: V1PodStatus & { kinit?: V1ContainerState; build?: V1ContainerState; main?: V1ContainerState },
  unbound = false,
): V1Pod {
  const built = buildPodManifest(
    step(),
    { app: 'app', step: 'submit', attempt: 1, revision: 1, workflowId: 'kappa/app', runId: 'r' },
    { namespace: 'spark-jobs' },
  );
  built.metadata!.creationTimestamp = new Date(T0);
  if (!unbound) built.spec!.nodeName = 'node-1';
  const { kinit, build, main, ...rest } = status;
  built.status = {
    phase: 'Pending',
    ...rest,
    initContainerStatuses: [
      container('kinit', kinit ?? waiting('PodInitializing')),
      container('build', build ?? waiting('PodInitializing')),
    ],
    containerStatuses: [container('main', main ?? waiting('PodInitializing'))],
  };
  return built;
}

const UNSCHEDULABLE = {
  conditions: [
    {
      type: 'PodScheduled',
      status: 'False',
      reason: 'Unschedulable',
      message: '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.',
    },
  ],
};

describe('pod judge', () => {
  test('main exit 0 succeeds; non-zero fails naming container, code and reason', () => {
    const judge = new PodJudge(step(), {});
    assert.deepEqual(
      judge.judge(pod({ phase: 'Running', kinit: running, build: exited(0), main: running }), T0),
      {
        done: false,
      },
    );
    assert.deepEqual(judge.judge(pod({ build: exited(0), main: exited(0) }), T0), { done: true, ok: true });
    assert.deepEqual(judge.judge(pod({ build: exited(0), main: exited(137, 'OOMKilled') }), T0), {
      done: true,
      ok: false,
      failure: {
        container: 'main',
        exitCode: 137,
        reason: 'OOMKilled',
        message: 'container "main" exited with code 137 (OOMKilled)',
      },
    });
  });

  test('a failed build fails at once; a sidecar exiting is not a build failure', () => {
    const judge = new PodJudge(step(), {});
    const verdict = judge.judge(pod({ kinit: running, build: exited(2) }), T0);
    assert.ok(verdict.done && !verdict.ok);
    assert.equal(verdict.failure.message, 'init container "build" exited with code 2 (Error)');
    assert.deepEqual(judge.judge(pod({ kinit: exited(1), build: running }), T0), { done: false });
  });

  test('an image pull error fails after its grace period; InvalidImageName at once', () => {
    const judge = new PodJudge(step(), { imagePullGraceMs: 60_000 });
    const pulling = pod({ kinit: running, build: waiting('ErrImagePull', 'no such host') });
    assert.deepEqual(judge.judge(pulling, T0), { done: false });
    assert.deepEqual(judge.judge(pulling, T0 + 59_000), { done: false });
    const verdict = judge.judge(pulling, T0 + 60_000);
    assert.ok(verdict.done && !verdict.ok);
    assert.equal(
      verdict.failure.message,
      'container "build" cannot pull its image build:1 (ErrImagePull): no such host',
    );
    // Healed in between: the grace period starts again.
    const healing = new PodJudge(step(), { imagePullGraceMs: 60_000 });
    healing.judge(pulling, T0);
    healing.judge(pod({ kinit: running, build: running }), T0 + 30_000);
    assert.deepEqual(healing.judge(pulling, T0 + 61_000), { done: false });
    assert.ok(new PodJudge(step(), {}).judge(pod({ main: waiting('InvalidImageName') }), T0).done);
  });

  test('a crash-looping sidecar fails the step', () => {
    const judge = new PodJudge(step(), {});
    const looping = pod({});
    looping.status!.initContainerStatuses![0] = container('kinit', waiting('CrashLoopBackOff'), {
      restartCount: 4,
      lastState: exited(1),
    });
    const verdict = judge.judge(looping, T0);
    assert.ok(verdict.done && !verdict.ok);
    assert.equal(
      verdict.failure.message,
      'sidecar "kinit" is crash-looping (4 restarts, last exit code 1 Error)',
    );
  });

  test("unschedulable for the step's timeout fails with the scheduler's message", () => {
    const judge = new PodJudge(step({ timeout: '10m' }), {});
    const pending = pod(UNSCHEDULABLE, true);
    assert.deepEqual(judge.judge(pending, T0 + 599_000), { done: false });
    const verdict = judge.judge(pending, T0 + 600_000);
    assert.ok(verdict.done && !verdict.ok);
    assert.equal(verdict.failure.reason, 'Unschedulable');
    assert.match(verdict.failure.message, /^pod could not be scheduled for 10m: 0\/1 nodes are available/);
  });

  test('a pod phase Failed (activeDeadlineSeconds) fails with its reason', () => {
    const verdict = new PodJudge(step(), {}).judge(
      pod({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
      }),
      T0,
    );
    assert.ok(verdict.done && !verdict.ok);
    assert.equal(
      verdict.failure.message,
      'pod failed (DeadlineExceeded): Pod was active on the node longer than the specified deadline',
    );
  });

  test("the pod's own reason wins over the exit code the kubelet's kill left on main", () => {
    const verdict = new PodJudge(step(), {}).judge(
      pod({
        phase: 'Failed',
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
        main: exited(137),
      }),
      T0,
    );
    assert.ok(verdict.done && !verdict.ok);
    assert.deepEqual(
      [verdict.failure.reason, verdict.failure.container, verdict.failure.exitCode],
      ['DeadlineExceeded', 'main', 137],
    );
  });
});

describe('pod ended (what keepPod may keep)', () => {
  test('Succeeded or Failed has ended', () => {
    assert.equal(podEnded(pod({ phase: 'Succeeded' })), true);
    assert.equal(podEnded(pod({ phase: 'Failed' })), true);
  });

  test('Pending has not: unschedulable, an image not pulled, a crash-looping sidecar', () => {
    assert.equal(podEnded(pod(UNSCHEDULABLE, true)), false);
    assert.equal(podEnded(pod({ kinit: running, build: waiting('ImagePullBackOff') })), false);
    assert.equal(podEnded(pod({ kinit: waiting('CrashLoopBackOff') })), false);
    assert.equal(podEnded(pod({ phase: 'Running', kinit: running, build: exited(0), main: running })), false);
  });

  test('every build and main container terminated, or one failed, has ended: running sidecars do not count', () => {
    assert.equal(
      podEnded(pod({ phase: 'Running', kinit: running, build: exited(0), main: exited(0) })),
      true,
    );
    assert.equal(
      podEnded(pod({ phase: 'Running', kinit: running, build: exited(0), main: exited(1) })),
      true,
    );
    assert.equal(
      podEnded(pod({ kinit: running, build: exited(2) })),
      true,
      'restartPolicy Never: main never runs',
    );
  });
});

describe('pod state in one line', () => {
  test('an unscheduled pod says why the scheduler refused it', () => {
    assert.equal(
      describePod(pod(UNSCHEDULABLE, true)),
      'phase Pending; not scheduled (Unschedulable: 0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }.); containers: kinit waiting (PodInitializing), build waiting (PodInitializing), main waiting (PodInitializing)',
    );
    assert.match(describePod(pod({}, true)), /^phase Pending; not scheduled yet; /);
  });

  test('containers: running, exited with code and reason, waiting with reason and message, restarts', () => {
    const stuck = pod({ kinit: running, build: exited(0), main: waiting('ErrImagePull', 'no such host') });
    stuck.status!.initContainerStatuses![0]!.restartCount = 2;
    stuck.metadata!.deletionTimestamp = new Date(T0);
    assert.equal(
      describePod(stuck),
      'phase Pending; being deleted; containers: kinit running, 2 restarts, build exited with code 0 (Completed), main waiting (ErrImagePull: no such host)',
    );
  });
});
