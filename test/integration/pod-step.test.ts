// The pod step through a real kubeconfig and @kubernetes/client-node, against the loopback API server (see
// test/support/fake-apiserver.ts for what it stands in for and what it does not cover).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PodStepRunner } from '../../src/kubernetes/pod-step-runner.js';
import type { StepContext } from '../../src/ports.js';
import type { PodStep } from '../../src/config/app-config.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { kubeClients } from '../../src/kubernetes/clients.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { waitFor } from '../support/harness.js';

const api = new FakeApiServer();
const NS = 'spark-jobs';
let runner: PodStepRunner;

before(async () => {
  await api.start();
  runner = new PodStepRunner(() => kubeClients(api.kubeconfig), {
    defaults: { namespace: NS, serviceAccount: 'kappa-submitter' },
    imagePullGraceMs: 300,
    tickMs: 100,
  });
});
after(() => api.stop());

function podStep(extra: Record<string, unknown> = {}): PodStep {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: 'app' },
    spec: {
      yarn: { host: 'local', appName: 'A' },
      steps: [
        {
          name: 'build-and-submit',
          pod: {
            image: 'spark-submit:3.5.1',
            command: ['spark-submit'],
            args: ['--conf', 'spark.yarn.submit.waitAppCompletion=false', '/artifacts/app.jar'],
            initContainers: [{ name: 'build', image: 'sbt:1.7' }],
            sidecars: [{ name: 'kinit', image: 'kinit:1.0' }],
            ...extra,
          },
        },
      ],
    },
  });
  assert.ok(result.ok);
  return result.config.spec.steps[0]!.pod!;
}

function context(app: string, attempt = 1, runId = 'run-1', previousDetails?: unknown) {
  const controller = new AbortController();
  const lines: string[] = [];
  const heartbeats: unknown[] = [];
  const ctx: StepContext = {
    app,
    workflowId: `kappa/${app}`,
    runId,
    revision: 1,
    attempt,
    stepName: 'build-and-submit',
    signal: controller.signal,
    heartbeat: (d) => heartbeats.push(d),
    previousDetails,
    log: (m) => lines.push(m),
  };
  return { ctx, controller, lines, heartbeats };
}

const podOf = (app: string, attempt = 1) => `${app}-build-and-submit-${attempt}`;
const running = { running: { startedAt: new Date() } };
const exited = (exitCode: number, reason = exitCode === 0 ? 'Completed' : 'Error') => ({
  terminated: { exitCode, reason },
});

/** Plays a kubelet: sidecar up, build runs and logs, then the main container runs spark-submit. */
function kubeletRuns(name: string, main: { exitCode: number; log: string[] }, buildExit = 0) {
  const k = api.kubelet;
  k.update(NS, name, (s) => {
    s.phase = 'Pending';
    s.conditions = [{ type: 'PodScheduled', status: 'True' }];
  });
  k.container(NS, name, 'kinit', running);
  k.container(NS, name, 'build', running);
  k.log(NS, name, 'build', '[info] Compiling 42 Scala sources');
  k.log(NS, name, 'build', '[success] Total time: 95 s');
  k.container(NS, name, 'build', exited(buildExit));
  if (buildExit !== 0) {
    k.update(NS, name, (s) => (s.phase = 'Failed'));
    return;
  }
  k.update(NS, name, (s) => (s.phase = 'Running'));
  k.container(NS, name, 'main', running);
  for (const line of main.log) k.log(NS, name, 'main', line);
  k.container(NS, name, 'main', exited(main.exitCode));
  k.container(NS, name, 'kinit', exited(0)); // the kubelet stops native sidecars after the main container
  k.update(NS, name, (s) => (s.phase = main.exitCode === 0 ? 'Succeeded' : 'Failed'));
}

const SUBMIT_LOG = [
  '25/11/25 14:00:02 INFO Client: Submitting application application_1700000000000_0042 to ResourceManager',
  '25/11/25 14:00:02 INFO YarnClientImpl: Submitted application application_1700000000000_0042',
];

describe('pod step', () => {
  test('success: the pod is created once, logs followed, the YARN id read from main, the pod deleted', async () => {
    const { ctx, lines, heartbeats } = context('ok');
    const result = runner.run(podStep({ keepPod: 'onFailure' }), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('ok')));
    kubeletRuns(podOf('ok'), { exitCode: 0, log: SUBMIT_LOG });
    const done = await result;
    assert.equal(done.yarnAppId, 'application_1700000000000_0042');
    assert.ok(lines.includes('[success] Total time: 95 s'), 'build log followed');
    assert.ok(
      lines.some((l) => l.includes('Submitting application')),
      'main log followed',
    );
    assert.ok(heartbeats.some((h) => (h as { phase?: string }).phase === 'Running'));
    await waitFor('pod deleted', () => !api.pod(NS, podOf('ok')));
    assert.equal(api.requests.filter((r) => r === `POST /api/v1/namespaces/${NS}/pods`).length >= 1, true);
  });

  test('main exits 1: StepFailed with container, exit code, reason and log tail; kept (keepPod onFailure)', async () => {
    const { ctx } = context('bad');
    const result = runner.run(podStep(), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('bad')));
    kubeletRuns(podOf('bad'), {
      exitCode: 1,
      log: [
        'Exception in thread "main" org.apache.spark.SparkException: Application finished with failed status',
      ],
    });
    await assert.rejects(result, (err: Error & { type?: string; details?: unknown[] }) => {
      assert.equal(err.type, 'StepFailed');
      assert.match(err.message, /container "main" exited with code 1 \(Error\); log ends:\n.*SparkException/);
      assert.deepEqual(
        (({ container, exitCode, reason }) => ({ container, exitCode, reason }))(
          err.details![0] as { container: string; exitCode: number; reason: string },
        ),
        { container: 'main', exitCode: 1, reason: 'Error' },
      );
      return true;
    });
    assert.ok(api.pod(NS, podOf('bad')), 'kept for inspection');
  });

  test('a failing build fails the step naming the init container', async () => {
    const { ctx } = context('build-fails');
    const result = runner.run(podStep({ keepPod: 'never' }), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('build-fails')));
    kubeletRuns(podOf('build-fails'), { exitCode: 0, log: [] }, 2);
    await assert.rejects(result, /init container "build" exited with code 2/);
    await waitFor('pod deleted (keepPod never)', () => !api.pod(NS, podOf('build-fails')));
  });

  test('an image that cannot be pulled fails past the grace period', async () => {
    const { ctx } = context('pull');
    const result = runner.run(podStep(), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('pull')));
    api.kubelet.container(NS, podOf('pull'), 'kinit', {
      waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "kinit:1.0"' },
    });
    await assert.rejects(result, /container "kinit" cannot pull its image kinit:1\.0 \(ImagePullBackOff\)/);
  });

  test('a crash-looping sidecar fails the step', async () => {
    const { ctx } = context('sidecar');
    const result = runner.run(podStep(), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('sidecar')));
    api.kubelet.container(
      NS,
      podOf('sidecar'),
      'kinit',
      { waiting: { reason: 'CrashLoopBackOff' } },
      { restartCount: 4, lastState: { terminated: { exitCode: 1, reason: 'Error' } } },
    );
    await assert.rejects(result, /sidecar "kinit" is crash-looping \(4 restarts, last exit code 1 Error\)/);
  });

  test('an unschedulable pod fails after the step timeout', async () => {
    const { ctx } = context('pending');
    const result = runner.run(podStep({ timeout: '1s' }), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('pending')));
    api.kubelet.update(NS, podOf('pending'), (s) => {
      s.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/3 nodes are available: 3 Insufficient memory.',
        },
      ];
    });
    await assert.rejects(
      result,
      /could not be scheduled for 1s: 0\/3 nodes are available: 3 Insufficient memory/,
    );
  });

  test('cancellation deletes the pod, whatever keepPod says', async () => {
    const { ctx, controller } = context('cancel');
    const result = runner.run(podStep({ keepPod: 'always' }), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('cancel')));
    api.kubelet.container(NS, podOf('cancel'), 'build', running);
    controller.abort(new Error('stop requested'));
    await assert.rejects(result, /stop requested/);
    await waitFor('pod deleted', () => !api.pod(NS, podOf('cancel')));
  });

  test('a retried activity adopts its pod instead of creating another; a stranger pod is refused', async () => {
    const first = context('retry');
    const firstRun = runner.run(podStep(), first.ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('retry')));
    api.kubelet.container(NS, podOf('retry'), 'build', running);
    // The worker dies: the activity is retried with the same attempt number, while the pod lives on.
    const posts = api.requests.filter((r) => r.startsWith('POST')).length;
    const lastHeartbeat = await waitFor('a heartbeat showing the build running', () =>
      first.heartbeats.find((h) => JSON.stringify(h).includes('"build":"running"')),
    );
    assert.deepEqual(lastHeartbeat, {
      pod: podOf('retry'),
      namespace: NS,
      phase: 'Pending',
      containers: { build: 'running' },
    });
    const second = context('retry', 1, 'run-1', lastHeartbeat);
    const secondRun = runner.run(podStep(), second.ctx);
    await waitFor('adopted', () =>
      second.lines.some((l) => l.startsWith(`adopted pod ${NS}/${podOf('retry')}`)),
    );
    assert.ok(second.lines.includes(`reattaching to pod ${NS}/${podOf('retry')} from the last heartbeat`));
    assert.equal(api.requests.filter((r) => r.startsWith('POST')).length, posts, 'no second create');
    kubeletRuns(podOf('retry'), { exitCode: 0, log: SUBMIT_LOG });
    assert.equal((await secondRun).yarnAppId, 'application_1700000000000_0042');
    first.controller.abort(new Error('old worker gone'));
    await firstRun.catch(() => undefined);

    const { ctx } = context('stranger', 1, 'run-1');
    const mine = runner.run(podStep({ keepPod: 'always' }), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('stranger')));
    kubeletRuns(podOf('stranger'), { exitCode: 0, log: [] });
    await mine;
    await assert.rejects(
      runner.run(podStep(), context('stranger', 1, 'run-2').ctx),
      /belongs to workflow run run-1, not run-2/,
    );
  });

  test('a watch broken mid-way, and one whose resourceVersion expired (410), are resumed', async () => {
    const { ctx, lines } = context('flaky');
    const result = runner.run(podStep(), ctx);
    await waitFor('pod created', () => api.pod(NS, podOf('flaky')));
    await waitFor('watching', () => api.requests.some((r) => r.endsWith('/pods?watch')));
    const name = podOf('flaky');
    api.kubelet.container(NS, name, 'build', running);
    api.breakWatches();
    await waitFor('re-listed', () => lines.some((l) => l.includes('listing again')));
    api.compact();
    api.breakWatches();
    kubeletRuns(name, { exitCode: 0, log: SUBMIT_LOG });
    assert.equal((await result).yarnAppId, 'application_1700000000000_0042');
    assert.ok(api.requests.filter((r) => r.endsWith('/pods?watch')).length >= 2);
  });

  test('the API server refuses an invalid pod with 422, and the step says why', async () => {
    const step = podStep();
    step.sharedVolume = 'relative/path'; // bypasses config validation, as a hand-built step could
    await assert.rejects(
      runner.run(step, context('invalid').ctx),
      /create pod spark-jobs\/invalid-build-and-submit-1: Pod "invalid-build-and-submit-1" is invalid: .*mountPath: must be absolute/,
    );
  });
});
