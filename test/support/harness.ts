// Test harness: a real Temporal dev server per test file, a Kappa worker with test executors, and helpers.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import {
  bundleWorkflowCode,
  Runtime,
  type Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { KappaDeps } from '../../src/ports.js';
import { TASK_QUEUE, workflowId } from '../../src/common/temporal-names.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { formatIssue } from '../../src/config/issues.js';
import { startDevServerOnFreePort, type DevServer } from '../../src/temporal/dev-server.js';
import { createKappaWorker, WORKFLOWS_PATH } from '../../src/worker.js';
import type { AppStatus } from '../../src/workflows/definitions.js';
import { appWorkflowHandle, queryAppStatus } from '../../src/cli/app-status.js';
import { FakeCluster } from './fake-cluster.js';

let runtimeInstalled = false;
/** Worker logs would drown the test output; warnings and errors still show. */
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: {
      log: (level: string, message: string, meta?: Record<string, unknown>) => {
        if (level === 'WARN' || level === 'ERROR') console.error(`[${level}] ${message}`, meta ?? '');
      },
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: (m: string, meta?: Record<string, unknown>) => console.error(`[WARN] ${m}`, meta ?? ''),
      error: (m: string, meta?: Record<string, unknown>) => console.error(`[ERROR] ${m}`, meta ?? ''),
    },
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `kappa-${prefix}-`));
}

export async function startServer(dynamicConfig?: Record<string, unknown>): Promise<DevServer> {
  return startDevServerOnFreePort({
    dynamicConfig,
    logFile: join(tempDir('server'), 'temporal.log'),
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (m: string) => console.error(m),
    },
  });
  return bundle;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

export async function startWorker(server: DevServer, deps: KappaDeps): Promise<RunningWorker> {
  quietRuntime();
  const { worker, connection } = await createKappaWorker({
    settings: { address: server.address, namespace: server.namespace, taskQueue: TASK_QUEUE },
    deps,
    workflowBundle: await workflowBundle(),
    shutdownGraceTimeMs: 5_000,
  });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export async function connectClient(
  server: DevServer,
): Promise<{ client: Client; close: () => Promise<void> }> {
  const connection = await Connection.connect({ address: server.address });
  return { client: new Client({ connection, namespace: server.namespace }), close: () => connection.close() };
}

/** A streaming app for tests: fast polling and backoff, steps from the fake cluster's script language. */
export function testApp(
  name: string,
  overrides: {
    appName?: string;
    kind?: 'StreamingApp' | 'BatchJob';
    restartPolicy?: Record<string, unknown>;
    yarn?: Record<string, unknown>;
    steps?: { name: string; script: string[] }[];
    labels?: Record<string, string>;
  } = {},
): AppConfig {
  const appName = overrides.appName ?? `App-${name}`;
  const raw = {
    apiVersion: 'kappa/v1',
    kind: overrides.kind ?? 'StreamingApp',
    metadata: { name, ...(overrides.labels ? { labels: overrides.labels } : {}) },
    spec: {
      yarn: { host: 'local', appName, pollInterval: '250ms', appearTimeout: '10s', ...overrides.yarn },
      restartPolicy: {
        maxRestarts: 3,
        backoff: { initial: '1s', factor: 2, max: '4s' },
        ...overrides.restartPolicy,
      },
      steps: (overrides.steps ?? [{ name: 'submit', script: ['submit', appName] }]).map((s) => ({
        name: s.name,
        ssh: { host: 'local', command: s.script, timeout: '1m' },
      })),
    },
  };
  const result = validateAppConfig(raw);
  if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
  return result.config;
}

/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function appHandle(client: Client, app: string): WorkflowHandle {
  return client.workflow.getHandle(workflowId(app));
}

/** The app's `status` query, as `kappa status` asks it (once more after a timeout: see queryAppStatus). */
export async function queryStatus(client: Client, app: string): Promise<AppStatus> {
  return queryAppStatus(appWorkflowHandle(client, workflowId(app)));
}

/** Waits until the app's status satisfies `predicate`; returns that status. */
export function waitForStatus(
  client: Client,
  app: string,
  what: string,
  predicate: (s: AppStatus) => boolean,
  timeoutMs = 30_000,
) {
  return waitFor(
    what,
    async () => {
      const status = await queryStatus(client, app);
      return predicate(status) ? status : undefined;
    },
    timeoutMs,
  );
}

export interface Testbed {
  server: DevServer;
  cluster: FakeCluster;
  worker: RunningWorker;
  client: Client;
  close(): Promise<void>;
}

/** A dev server, a worker on the fake cluster and a client: what most workflow tests start with. */
export async function startTestbed(dynamicConfig?: Record<string, unknown>): Promise<Testbed> {
  const server = await startServer(dynamicConfig);
  const cluster = new FakeCluster(tempDir('cluster'));
  const worker = await startWorker(server, cluster.deps());
  const { client, close } = await connectClient(server);
  return {
    server,
    cluster,
    worker,
    client,
    close: async () => {
      await close();
      await worker.stop();
      await server.stop();
    },
  };
}
