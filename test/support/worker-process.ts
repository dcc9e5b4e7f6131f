// A Kappa worker in its own process, on the fake cluster, so a test can SIGKILL it mid-activity.
// Env: KAPPA_TEST_ADDRESS (Temporal), KAPPA_TEST_CLUSTER_DIR (the fake cluster's state).
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { createKappaWorker } from '../../src/worker.js';
import { FakeCluster } from './fake-cluster.js';
import { quietRuntime, workflowBundle } from './harness.js';

async function main() {
  quietRuntime();
  const cluster = new FakeCluster(process.env.KAPPA_TEST_CLUSTER_DIR!);
  const { worker } = await createKappaWorker({
    settings: { address: process.env.KAPPA_TEST_ADDRESS!, namespace: 'default', taskQueue: TASK_QUEUE },
    deps: cluster.deps(),
    workflowBundle: await workflowBundle(),
    identity: `test-worker-${process.pid}`,
  });
  const running = worker.run();
  console.log('worker ready');
  await running;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
