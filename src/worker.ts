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
 * default, sized from the heap (~2300 here), lets a worker of 1000 apps grow past 1 GiB. A deploy of 1000 apps at
 * once evicts starts in flight (2500 of their 4000 workflow tasks are replays at 250), yet 500 did not start them
 * sooner on 2 cores and cost 240-490 MiB more RSS and 2-3 % of a core more at rest (a bigger heap to collect).
 */
export const DEFAULT_MAX_CACHED_WORKFLOWS = 250;

/**
 * Workflow-task slots and polls for a cache size (the SDK allows no more slots than cached workflows). Deploying
 * many apps at once is a burst of new workflows, which only non-sticky polls take (2 of the SDK's default 10): with
 * 20 of them the first tasks of 1000 new workflows waited 40 s (p50) in the queue, with 64 half that. Idle polls
 * cost nothing but an empty answer a minute.
 */
function workflowSlots(maxCachedWorkflows: number) {
  const slots = maxCachedWorkflows === 0 ? 100 : Math.max(2, Math.min(100, maxCachedWorkflows));
  return {
    maxCachedWorkflows,
    maxConcurrentWorkflowTaskExecutions: slots,
    maxConcurrentWorkflowTaskPolls: Math.max(2, Math.min(80, slots)),
    nonStickyToStickyPollRatio: 0.8,
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
