// The Kappa worker: hosts the app workflow and its activities on the `kappa` task queue.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities/activities.js';
import type { KappaDeps } from './ports.js';
import { productionDeps } from './production-deps.js';
import { durationMs } from './common/duration.js';
import {
  loadWorkerConfig,
  temporalSettings,
  workerConfigError,
  type TemporalConnectionSettings,
  type WorkerConfig,
} from './config/worker-config.js';
import { ConfigError, formatLocated } from './config/yaml-source.js';
import { installRuntime, metricsAddress, metricsProblem, pollRecorder } from './observability.js';
import { connectionOptions } from './temporal/connection.js';

export const WORKFLOWS_PATH = join(__dirname, 'workflows');
/** Written by `npm run bundle` (the container image): with it the worker starts without bundling. */
export const WORKFLOW_BUNDLE_PATH = join(__dirname, 'workflow-bundle.js');

/**
 * The workflow code: a bundle handed in, else KAPPA_WORKFLOW_BUNDLE (the test script bundles once for every worker
 * process it starts), else the image's pre-built bundle, else bundled from source now.
 */
function workflowCode(bundle: WorkerOptions['workflowBundle']) {
  if (bundle) return { workflowBundle: bundle };
  const path = process.env.KAPPA_WORKFLOW_BUNDLE ?? WORKFLOW_BUNDLE_PATH;
  return existsSync(path) ? { workflowBundle: { codePath: path } } : { workflowsPath: WORKFLOWS_PATH };
}

export interface KappaWorkerOptions {
  settings: TemporalConnectionSettings;
  deps: KappaDeps;
  /** Pre-bundled workflow code (tests bundle once and share); otherwise bundled from source at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  shutdownGraceTimeMs?: number;
  maxConcurrentActivities?: number;
  maxCachedWorkflows?: number;
  identity?: string;
}

/**
 * Workflows kept in memory between events. A supervised app's workflow is idle between YARN events, so an evicted
 * one costs one short replay (its history since the last continue-as-new) when something happens; the SDK's own
 * default, sized from the heap (~2300 here), lets a worker of 1000 apps grow past 1 GiB, and 1000 cost 856 MiB
 * and more CPU at rest (a bigger heap to collect). A deploy of 1000 apps at once fits in 250: new workflows are
 * taken in slowly enough that the starts in flight stay far fewer (`workflowSlots`).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

/**
 * Workflow-task slots and polls for a cache size (the SDK allows no more slots than cached workflows). Deploying
 * many apps at once is a burst of new workflows, which only non-sticky polls take; the rest of each start (three
 * more workflow tasks, one per activity) comes on the sticky queue. Few non-sticky polls let a started app finish
 * its start-up before many more begin theirs: with 64 of 80 non-sticky, 1000 new apps were all in flight at once,
 * 2300-2600 of their 4000 workflow tasks found their workflow evicted from a cache of 250 and replayed it, and the
 * worker used 72 CPU-seconds; with 8 of 80, none was evicted and it used 41 (`bench:supervise`, N=1000).
 */
function workflowSlots(maxCachedWorkflows: number) {
  const slots = maxCachedWorkflows === 0 ? 100 : Math.max(2, Math.min(100, maxCachedWorkflows));
  return {
    maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: slots,
    maxConcurrentWorkflowTaskPolls: Math.max(2, Math.min(80, slots)),
    nonStickyToStickyPollRatio: 0.1,
  };
}

export async function createKappaWorker(
  options: KappaWorkerOptions,
): Promise<{ worker: Worker; connection: NativeConnection }> {
  const connection = await NativeConnection.connect(connectionOptions(options.settings));
  const worker = await Worker.create({
    connection,
    namespace: options.settings.namespace,
    taskQueue: options.settings.taskQueue,
    activities: createActivities(options.deps),
    ...workflowCode(options.workflowBundle),
    // Cancellation reaches an activity through a heartbeat: send them often so a stop is prompt.
    defaultHeartbeatThrottleInterval: '2s',
    maxHeartbeatThrottleInterval: '2s',
    shutdownGraceTime: options.shutdownGraceTimeMs ?? 30_000,
    // Supervision activities live as long as their apps: one slot each.
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivities ?? 5000,
    ...workflowSlots(options.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS),
    maxConcurrentActivityTaskPolls: 20,
    ...(options.identity ? { identity: options.identity } : {}),
  });
  return { worker, connection };
}

/**
 * Runs a worker until SIGINT/SIGTERM, then lets running activities finish or clean up (graceful shutdown). A
 * metrics port another process holds (a second worker on the host) is a ConfigError naming `metrics.port`.
 */
export async function runWorker(config: WorkerConfig, settings: TemporalConnectionSettings): Promise<void> {
  const problem = (await metricsProblem(config.metrics)) ?? installRuntime(config.metrics);
  if (problem) throw workerConfigError(config, problem);
  const deps = productionDeps(config, pollRecorder());
  const { worker, connection } = await createKappaWorker({
    settings,
    deps,
    shutdownGraceTimeMs: durationMs(config.shutdownGraceTime),
    maxConcurrentActivities: config.maxConcurrentActivities,
    maxCachedWorkflows: config.maxCachedWorkflows,
  });
  const metrics = metricsAddress(config.metrics);
  console.error(
    `kappa worker: task queue ${settings.taskQueue} on ${settings.address} (namespace ${settings.namespace})${metrics ? `; metrics on ${metrics}/metrics` : ''}`,
  );
  try {
    await worker.run();
    console.error('kappa worker: stopped');
  } finally {
    deps.close();
    await connection.close();
  }
}

if (require.main === module) {
  const config = loadWorkerConfig();
  runWorker(config, temporalSettings(config)).catch((err: unknown) => {
    if (!(err instanceof ConfigError)) {
      console.error(err);
      process.exit(1);
    }
    for (const issue of err.issues) console.error(formatLocated(issue));
    process.exit(2); // config errors, as in the CLI
  });
}
