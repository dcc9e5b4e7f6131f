// The pod step against a real kube-apiserver v1.34.2 + etcd (test/support/kube-apiserver.ts) and a test kubelet
// (test/support/test-kubelet.ts): RBAC as config/kubernetes/rbac.yaml grants it (and a variant without `watch`),
// logs through the API server's kubelet proxy, graceful deletion confirmed by the kubelet, the API server
// restarted mid-step. What the real server cannot be made to show on demand stays on the double
// (test/integration/pod-step.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import type { V1Pod } from '@kubernetes/client-node';
import { createActivities } from '../../src/activities/activities.js';
import type { Step } from '../../src/config/app-config.js';
import { kubeClients } from '../../src/kubernetes/clients.js';
import { podName } from '../../src/kubernetes/pod-manifest.js';
import { PodStepRunner, type PodRunnerOptions } from '../../src/kubernetes/pod-step-runner.js';
import type { YarnGateway } from '../../src/ports.js';
import { describeFailure } from '../../src/workflows/describe-failure.js';
import { POD_STEP_NAME, testPodStep, testStepContext } from '../support/pod-step-fixtures.js';
import { startKubeApiServer, type KubeApiServer } from '../support/kube-apiserver.js';
import { NOT_READY_MESSAGE, TestKubelet } from '../support/test-kubelet.js';
import { waitFor } from '../support/harness.js';

const NS = 'spark-jobs';
const STEP = POD_STEP_NAME;
const podStep = testPodStep;

function context(app: string, runId = `run-of-${app}`, attempt = 1) {
  return { ...testStepContext(app, { runId, attempt }), pod: podName(app, STEP, attempt, runId) };
}
const NO_WATCH = 'kappa-worker-nowatch';
let kube: KubeApiServer;
let kubelet: TestKubelet;

before(
  async () => {
    kube = await startKubeApiServer({
      namespace: NS,
      extraWorkers: [
        {
          name: NO_WATCH,
          rules: [
            { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list', 'delete'] },
            { apiGroups: [''], resources: ['pods/log'], verbs: ['get'] },
          ],
        },
      ],
    });
    kubelet = new TestKubelet({ admin: kube.admin, namespace: NS, tls: kube.tls, stepMs: 50, pollMs: 100 });
    await kubelet.start();
  },
  { timeout: 30 * 60_000 },
);
after(async () => {
  await kubelet?.stop();
  await kube?.stop();
});

function runner(options: Partial<PodRunnerOptions> = {}, kubeconfig = kube.kubeconfigPath) {
  return new PodStepRunner(() => kubeClients(kubeconfig), {
    defaults: { namespace: NS, serviceAccount: 'kappa-submitter' },
    imagePullGraceMs: 500,
    tickMs: 100,
    initialBackoffMs: 250,
    ...options,
  });
}

const code = (err: unknown) => (err as { code?: number }).code;
const readPod = (name: string) => kube.adminCore.readNamespacedPod({ namespace: NS, name });
async function gone(name: string): Promise<void> {
  await assert.rejects(readPod(name), (err) => code(err) === 404, `pod ${name} is gone (404)`);
}
const containersOf = (heartbeats: unknown[]) =>
  heartbeats.map((h) => (h as { containers?: Record<string, string> } | undefined)?.containers ?? {});

/** A request counter of the API server's own metrics (`apiserver_request_total`), summed over matching series. */
async function requests(labels: Record<string, string>): Promise<number> {
  const { body } = await kube.adminGet('/metrics');
  let total = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      total += Number(line.split(' ').pop());
  }
  return total;
}

const SUBMIT_LOG = [
  '25/11/25 14:00:02 INFO Client: Submitting application application_1700000000000_0042 to ResourceManager',
  '25/11/25 14:00:02 INFO YarnClientImpl: Submitted application application_1700000000000_0042',
];

interface Failure extends Error {
  type?: string;
  nonRetryable?: boolean;
  details?: unknown[];
}

describe('pod step on a real API server', () => {
  test('success: logs followed, the YARN id read, the pod deleted', async () => {
    const { ctx, lines, heartbeats, pod } = context('ok');
    kubelet.script(pod, {
      build: { log: ['[info] Compiling 42 Scala sources', '[success] Total time: 95 s'] },
      main: { log: SUBMIT_LOG },
    });
    const result = await runner().run(podStep(), ctx);
    await gone(pod);
    assert.equal(result.yarnAppId, 'application_1700000000000_0042');
    assert.ok(lines.includes('[success] Total time: 95 s'), 'build log followed');
    assert.match(result.outputTail, /Compiling 42 Scala sources[\s\S]*Submitting application/);
    assert.ok(heartbeats.some((h) => (h as { phase?: string } | undefined)?.phase === 'Running'));
    assert.ok(lines.includes(`created pod ${NS}/${pod}`));
    assert.equal(lines.at(-1), `deleted pod ${NS}/${pod}`);
    assert.deepEqual(kubelet.errors, []);
  });

  // A pod that Succeeded or Failed goes at its DELETE; a live one stays Terminating until its kubelet confirms.
  test('cancelled while main runs: the pod is deleted whatever keepPod says, and gone before the step ends', async () => {
    const { ctx, controller, heartbeats, lines, pod } = context('cancel');
    kubelet.script(pod, { main: { untilDeleted: true } }, { deletion: { delayMs: 1_500 } });
    const result = runner().run(podStep({ keepPod: 'always' }), ctx);
    await waitFor('main running', () => containersOf(heartbeats).some((c) => c.main === 'running'), 10_000);
    const beats = heartbeats.length;
    controller.abort(new Error('stop requested'));
    await assert.rejects(result, /stop requested; pod spark-jobs\/cancel-.*: phase Running/);
    // The kubelet confirmed the deletion 1.5 s after the DELETE: a step that ended at the DELETE's 200 would
    // leave its pod Terminating here.
    await gone(pod);
    assert.equal(lines.at(-1), `deleted pod ${NS}/${pod}`);
    assert.ok(heartbeats.slice(beats).includes(undefined), 'heartbeats while waiting for the pod to go');
  });

  test('a pod left Terminating: the wait for it is bounded and the log says so', async () => {
    const { ctx, controller, heartbeats, lines, pod } = context('terminating');
    kubelet.script(pod, { main: { untilDeleted: true } }, { deletion: 'never' });
    const result = runner({ deleteWaitMs: 1_000 }).run(podStep(), ctx);
    await waitFor('main running', () => containersOf(heartbeats).some((c) => c.main === 'running'), 10_000);
    controller.abort(new Error('stop requested'));
    await assert.rejects(result, /stop requested/);
    assert.match(
      lines.at(-1)!,
      /is still terminating 1s(\d+ms)? after its deletion \(grace period 30s\); not waiting longer/,
    );
    assert.ok((await readPod(pod)).metadata?.deletionTimestamp, 'still Terminating');
    await kube.adminCore.deleteNamespacedPod({ namespace: NS, name: pod, body: { gracePeriodSeconds: 0 } });
  });

  test('exit codes: main exits 1, or is OOMKilled (137); the failure names container, code, reason, log tail; the ended pod is kept', async () => {
    for (const [app, exitCode, reason] of [
      ['exit-one', 1, undefined],
      ['oom', 137, 'OOMKilled'],
    ] as const) {
      const { ctx, lines, pod } = context(app);
      kubelet.script(pod, {
        main: {
          log: ['Exception in thread "main" org.apache.spark.SparkException: failed'],
          exitCode,
          reason,
        },
      });
      await assert.rejects(runner().run(podStep(), ctx), (err: Failure) => {
        assert.equal(err.type, 'StepFailed');
        assert.match(
          err.message,
          new RegExp(
            `container "main" exited with code ${exitCode} \\(${reason ?? 'Error'}\\); log ends:\\n.*SparkException`,
          ),
        );
        const { container, exitCode: code, reason: why } = err.details![0] as Record<string, unknown>;
        assert.deepEqual(
          { container, code, why },
          { container: 'main', code: exitCode, why: reason ?? 'Error' },
        );
        return true;
      });
      assert.ok(lines.includes(`keeping pod ${NS}/${pod} (keepPod: onFailure)`));
      assert.equal((await readPod(pod)).status?.phase, 'Failed');
    }
  });

  test('a failing build fails the step naming the init container; the Failed pod is kept', async () => {
    const { ctx, pod } = context('build-fails');
    kubelet.script(pod, { build: { log: ['[error] Compilation failed'], exitCode: 2 } });
    await assert.rejects(
      runner().run(podStep(), ctx),
      /init container "build" exited with code 2 \(Error\); log ends:\n\[error\] Compilation failed/,
    );
    assert.equal((await readPod(pod)).status?.phase, 'Failed');
  });

  test('an image that cannot be pulled fails the step; the Pending pod is deleted although keepPod is always', async () => {
    const { ctx, lines, pod } = context('pull');
    kubelet.script(pod, {
      main: {
        pullError: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "spark-submit:3.5.1"' },
      },
    });
    await assert.rejects(
      runner().run(podStep({ keepPod: 'always' }), ctx),
      /container "main" cannot pull its image spark-submit:3\.5\.1 \(ImagePullBackOff\): Back-off pulling image/,
    );
    assert.ok(
      lines.some((l) =>
        /^not keeping pod spark-jobs\/pull-.* \(keepPod: always\): it has not ended \(phase Pending; .*main waiting \(ImagePullBackOff/.test(
          l,
        ),
      ),
      lines.join('\n'),
    );
    await gone(pod);
  });

  test('a crash-looping sidecar fails the step; the pod, not ended, is deleted (keepPod onFailure)', async () => {
    const { ctx, lines, pod } = context('sidecar');
    kubelet.script(pod, { kinit: { crashLoop: 4, exitCode: 1 } });
    await assert.rejects(
      runner().run(podStep(), ctx),
      /sidecar "kinit" is crash-looping \(4 restarts, last exit code 1 Error\)/,
    );
    assert.ok(lines.some((l) => l.startsWith(`not keeping pod ${NS}/${pod} (keepPod: onFailure)`)));
    await gone(pod);
  });

  describe('with the node not ready (unschedulable)', () => {
    before(() => kubelet.setNodeReady(false));
    after(() => kubelet.setNodeReady(true));

    test("the step fails with the scheduler's reason, and the pod is deleted, not kept to run later", async () => {
      const { ctx, lines, pod } = context('pending');
      const step = podStep({ keepPod: 'always' });
      step.timeout = '2s'; // below the config's minimum, for the test's sake
      await assert.rejects(
        runner().run(step, ctx),
        new RegExp(`could not be scheduled for 2s: ${escape(NOT_READY_MESSAGE)}`),
      );
      assert.ok(lines.some((l) => l.startsWith(`not keeping pod ${NS}/${pod} (keepPod: always)`)));
      await gone(pod);
    });

    test("aborted by the step timeout, the failure carries the pod's state and the scheduler's reason", async () => {
      const { ctx, controller, heartbeats } = context('pending-timeout');
      const result = runner().run(podStep(), ctx);
      await waitFor(
        'the pod seen',
        () => heartbeats.some((h) => (h as { phase?: string } | undefined)?.phase),
        10_000,
      );
      await new Promise((r) => setTimeout(r, 500)); // the scheduler's refusal reaches the pod
      controller.abort(); // what runStep's timer does: no reason of its own
      await assert.rejects(result, (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `^pod spark-jobs/pending-timeout-.*: phase Pending; not scheduled \\(Unschedulable: ${escape(NOT_READY_MESSAGE)}\\)`,
          ),
        );
        assert.doesNotMatch(err.message, /This operation was aborted/);
        return true;
      });
    });
  });

  test("runStep's own timeout: StepTimedOut, and the message shows where the pod was (image not pulled)", async () => {
    const { pod } = context('timeout', 'run-timeout');
    kubelet.script(pod, {
      main: {
        pullError: { reason: 'ErrImagePull', message: 'rpc error: registry.example.com: no such host' },
      },
    });
    const activities = createActivities({
      steps: { pod: runner({ imagePullGraceMs: 120_000 }) },
      yarn: {} as YarnGateway,
      heartbeatIntervalMs: 60_000,
    });
    const step: Step = { name: STEP, pod: podStep() };
    step.pod!.timeout = '3s';
    const err = await runActivity('run-timeout', () =>
      activities.runStep({ app: 'timeout', host: 'local', appName: 'A', revision: 1, attempt: 1, step }),
    ).then(
      () => assert.fail('the step should time out'),
      (e: Failure) => e,
    );
    assert.equal(err.type, 'StepTimedOut');
    assert.match(
      describeFailure(err),
      /^step "build-and-submit" timed out after 3s: pod spark-jobs\/timeout-.*: phase Pending; containers: kinit running, build exited with code 0 \(Completed\), main waiting \(ErrImagePull: rpc error: registry\.example\.com: no such host\)$/,
    );
    await gone(pod);
  });

  test('the API server restarted mid-step: watch and main log resume, no line lost or doubled, the YARN id read', async () => {
    const { ctx, lines, pod } = context('restart');
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    kubelet.script(pod, {
      main: { log: ['line 1, before the restart'], until: released, laterLog: SUBMIT_LOG },
    });
    const result = runner().run(podStep(), ctx);
    await waitFor('the first line followed', () => lines.includes('line 1, before the restart'), 10_000);
    await kube.restart();
    kubelet.print(pod, 'main', 'line 2, printed after the restart');
    // Followed again while main still runs: not only read at the end.
    await waitFor(
      'the log followed again',
      () => lines.includes('line 2, printed after the restart'),
      30_000,
    );
    release();
    const done = await result;
    assert.equal(done.yarnAppId, 'application_1700000000000_0042');
    assert.match(
      done.outputTail,
      /line 1, before the restart\nline 2, printed after the restart\n.*Submitting application/,
    );
    for (const line of ['line 1, before the restart', 'line 2, printed after the restart', ...SUBMIT_LOG])
      assert.equal(lines.filter((l) => l === line).length, 1, `"${line}" logged once:\n${lines.join('\n')}`);
    // The watch was tried again with growing pauses while the server was down: no hot loop.
    const pauses = lines
      .map((l) => /^watch of pod .* failed \(.*\); retrying in (\d+(?:\.\d+)?)(ms|s)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]) * (m[2] === 's' ? 1000 : 1));
    assert.ok(pauses.length >= 1 && pauses.length <= 8, lines.join('\n'));
    assert.deepEqual(
      pauses,
      [...pauses].sort((a, b) => a - b),
      'backoff grows',
    );
    assert.ok(lines.some((l) => /^log of container "main" interrupted/.test(l)));
    assert.deepEqual(kubelet.errors, []);
  });

  test('pods/log answering 204 (the pod has no node yet) is "no log yet": nothing logged as an error, read once bound', async () => {
    const { ctx, lines, pod } = context('no-node');
    kubelet.script(
      pod,
      { build: { log: ['[info] building'] }, main: { log: SUBMIT_LOG } },
      { statusBeforeBindingMs: 1_500 },
    );
    const before204 = await requests({ code: '204', resource: 'pods', subresource: 'log' });
    const done = await runner().run(podStep(), ctx);
    assert.equal(done.yarnAppId, 'application_1700000000000_0042');
    assert.ok(lines.includes('[info] building'));
    assert.ok(
      (await requests({ code: '204', resource: 'pods', subresource: 'log' })) > before204,
      'a 204 was answered',
    );
    assert.deepEqual(
      lines.filter((l) => /interrupted|cannot follow|HTTP|Headers|error/i.test(l)),
      [],
      'nothing said about the 204',
    );
  });

  test('RBAC without watch: the step fails at once, non-retryable, naming verb, resource, namespace and user; no hot loop', async () => {
    const { ctx, lines, pod } = context('nowatch');
    kubelet.script(pod, { main: { untilDeleted: true } });
    const watches = () => requests({ code: '403', verb: 'WATCH', resource: 'pods' });
    const before403 = await watches();
    await assert.rejects(runner({}, kube.kubeconfigs[NO_WATCH]).run(podStep(), ctx), (err: Failure) => {
      assert.equal(err.type, 'NotConfigured');
      assert.equal(err.nonRetryable, true);
      assert.match(
        err.message,
        new RegExp(
          `^watch pod ${NS}/${pod}: pods "${pod}" is forbidden: User "system:serviceaccount:${NS}:${NO_WATCH}" cannot watch resource "pods" in API group "" in the namespace "${NS}"`,
        ),
      );
      return true;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    // One refused watch, and the second request that reads the server's Status for the message.
    assert.ok((await watches()) - before403 <= 2, `refused watches: ${(await watches()) - before403}`);
    assert.ok(
      lines.some((l) => l.startsWith(`not keeping pod`)) || lines.includes(`deleted pod ${NS}/${pod}`),
    );
    await gone(pod);
  });

  test('a new workflow run is not blocked by the kept pod of an earlier one; a retried activity computes the same name', async () => {
    // A BatchJob's runs (and a redeploy after a stop) all start at attempt 1.
    const first = context('nightly', 'run-1');
    kubelet.script(first.pod, { main: { exitCode: 1 } });
    await assert.rejects(runner().run(podStep(), first.ctx), /exited with code 1/);
    assert.equal((await readPod(first.pod)).status?.phase, 'Failed', 'kept (keepPod onFailure)');

    const second = context('nightly', 'run-2');
    assert.notEqual(second.pod, first.pod);
    let release!: () => void;
    kubelet.script(second.pod, {
      main: { log: SUBMIT_LOG, until: new Promise<void>((r) => (release = r)) },
    });
    const tries = runner().run(podStep(), second.ctx);
    await waitFor('created', () => second.lines.includes(`created pod ${NS}/${second.pod}`), 10_000);
    // The worker is lost without a heartbeat naming the pod: the retried activity computes the same name.
    const retried = context('nightly', 'run-2');
    const retry = runner().run(podStep(), retried.ctx);
    await waitFor(
      'adopted',
      () => retried.lines.some((l) => l.startsWith(`adopted pod ${NS}/${second.pod}`)),
      10_000,
    );
    release();
    assert.equal((await retry).yarnAppId, 'application_1700000000000_0042');
    assert.equal((await tries).yarnAppId, 'application_1700000000000_0042');
  });

  test('a pod of that name from another run is refused, and left alone', async () => {
    const { ctx, pod } = context('stranger', 'run-mine');
    const stranger: V1Pod = {
      metadata: { name: pod, annotations: { 'kappa.dev/run-id': 'run-theirs' } },
      spec: { containers: [{ name: 'main', image: 'pause' }], serviceAccountName: 'kappa-submitter' },
    };
    kubelet.script(pod, { main: { untilDeleted: true } });
    await kube.adminCore.createNamespacedPod({ namespace: NS, body: stranger });
    await assert.rejects(
      runner().run(podStep({ keepPod: 'never' }), ctx),
      /belongs to workflow run run-theirs, not run-mine/,
    );
    assert.ok(await readPod(pod), 'not deleted');
    await kube.adminCore.deleteNamespacedPod({ namespace: NS, name: pod });
  });

  test('a pod deleted by someone else fails the step: StepFailed, non-retryable, reason PodDeleted', async () => {
    const { ctx, heartbeats, pod } = context('deleted');
    kubelet.script(pod, { main: { untilDeleted: true } });
    const result = runner().run(podStep(), ctx);
    await waitFor('main running', () => containersOf(heartbeats).some((c) => c.main === 'running'), 10_000);
    await kube.adminCore.deleteNamespacedPod({ namespace: NS, name: pod });
    await assert.rejects(result, (err: Failure) => {
      assert.equal(err.type, 'StepFailed');
      assert.equal(err.nonRetryable, true);
      assert.equal((err.details![0] as { reason?: string }).reason, 'PodDeleted');
      assert.match(
        err.message,
        /^pod spark-jobs\/deleted-.* is being deleted by someone else while the step ran; the step fails rather than create it again/,
      );
      return true;
    });
    await gone(pod);
  });

  test('the API server refuses an invalid pod: the step says why, and does not retry', async () => {
    const { ctx } = context('invalid');
    const step = podStep();
    step.resources = { cpu: '1.2.3' }; // past config validation, as a hand-built step could be
    await assert.rejects(runner().run(step, ctx), (err: Failure) => {
      assert.equal(err.type, 'InvalidConfig');
      assert.equal(err.nonRetryable, true);
      assert.match(
        err.message,
        /^create pod spark-jobs\/invalid-.*: .*quantities must match the regular expression/,
      );
      return true;
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Runs an activity function as the worker would: in an activity Context (no Temporal server needed). */
function runActivity<T>(runId: string, fn: () => Promise<T>): Promise<T> {
  const info = {
    attempt: 1,
    activityId: '1',
    activityType: 'runStep',
    workflowExecution: { workflowId: 'kappa/timeout', runId },
    heartbeatDetails: undefined,
  } as unknown as Info;
  const log = {
    log: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: () => undefined,
    debug: () => undefined,
    trace: () => undefined,
  };
  const context = new Context(
    info,
    new Promise<never>(() => undefined),
    new AbortController().signal,
    () => undefined,
    undefined,
    log,
    undefined as never,
    undefined as never,
  );
  return asyncLocalStorage.run(context, fn);
}
