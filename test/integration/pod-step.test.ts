// The pod step against the loopback double of the API server (test/support/fake-apiserver.ts), for what the real
// one (test/integration/pod-step-real.test.ts) cannot be made to show on demand: a watch answered with an ERROR
// event 410 Expired (its resourceVersion compacted away; a real server does this after etcd compaction, minutes
// apart) and watches dropped mid-stream while the server stays up. Every other scenario runs on the real tier.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { podName } from '../../src/kubernetes/pod-manifest.js';
import { PodStepRunner } from '../../src/kubernetes/pod-step-runner.js';
import { kubeClients } from '../../src/kubernetes/clients.js';
import { FakeApiServer } from '../support/fake-apiserver.js';
import { waitFor } from '../support/harness.js';
import { testPodStep as podStep, testStepContext } from '../support/pod-step-fixtures.js';

const context = (app: string, attempt = 1, runId = 'run-1', previousDetails?: unknown) =>
  testStepContext(app, { attempt, runId, previousDetails });

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

const podOf = (app: string, attempt = 1, runId = 'run-1') => podName(app, 'build-and-submit', attempt, runId);
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

describe('pod step on the double', () => {
  test('a watch broken mid-way is resumed from its resourceVersion; one that expired (410) lists again', async () => {
    const { ctx, heartbeats } = context('flaky');
    const name = podOf('flaky');
    const path = `GET /api/v1/namespaces/${NS}/pods`;
    const watches = () => api.requests.filter((r) => r === `${path}?watch`).length;
    const lists = () => api.requests.filter((r) => r === path).length;
    const result = runner.run(podStep(), ctx);
    await waitFor('watching', () => watches() === 1);
    api.kubelet.container(NS, name, 'build', running);
    await waitFor('the build seen running', () =>
      heartbeats.some((h) => JSON.stringify(h).includes('"build":"running"')),
    );
    const listed = lists();
    api.breakWatches();
    await waitFor('watching again', () => watches() === 2);
    assert.equal(lists(), listed, 'resumed from its resourceVersion, not listed again');
    api.compact();
    api.breakWatches();
    await waitFor('listed again after 410 Expired', () => lists() > listed);
    kubeletRuns(name, { exitCode: 0, log: SUBMIT_LOG });
    assert.equal((await result).yarnAppId, 'application_1700000000000_0042');
  });
});
