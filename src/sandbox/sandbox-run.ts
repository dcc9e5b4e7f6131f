// The sandbox's example app under `kappa dev`: deploys it (a later start restarts it, since the app cannot have
// survived the cluster it ran on), then follows its status and tells the user what Kappa does: each time it is
// Running on this cluster, the one command that kills it, and how long it took to come back.
import { Client, Connection } from '@temporalio/client';
import { Phase } from '../common/phases.js';
import { workflowId } from '../common/temporal-names.js';
import type { TemporalConnectionSettings } from '../config/worker-config.js';
import { appWorkflowHandle } from '../cli/app-status.js';
import { deployApp } from '../cli/commands/deploy.js';
import { connectionOptions } from '../temporal/connection.js';
import { restartSignal, statusQuery, type AppStatus } from '../workflows/definitions.js';
import type { Sandbox } from './sandbox.js';

const say = (line: string) => console.error(`kappa dev: ${line}`);
const POLL_MS = 2_000;

/** The Temporal UI's page of an app's workflow. */
export function workflowUiUrl(uiPort: number, namespace: string, app: string): string {
  return `http://localhost:${uiPort}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId(app))}`;
}

/** Runs until `signal` aborts; problems are reported, never thrown (the worker keeps running). */
export async function runSandboxApp(
  sandbox: Sandbox,
  settings: TemporalConnectionSettings,
  uiPort: number,
  signal: AbortSignal,
): Promise<void> {
  const app = sandbox.app.metadata.name;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect(connectionOptions(settings));
    const client = new Client({ connection, namespace: settings.namespace });
    // Deploying waits for the worker (the update runs in the workflow): Ctrl-C must not wait for it.
    await connection.withAbortSignal(signal, async () => {
      const report = await deployApp(client, settings.taskQueue, sandbox.app);
      if (report.action === 'unchanged') {
        await appWorkflowHandle(client, report.workflowId).signal(restartSignal, {
          reason: 'kappa dev: a new local YARN (the app ran on the previous one)',
        });
      }
      const what = {
        started: 'deployed',
        updated: `updated to revision ${report.revision}, restarting on the new cluster`,
        unchanged: 'restarted on the new cluster',
        scheduled: 'scheduled', // a BatchJob; never the sandbox's app
      }[report.action];
      say(`example app ${app} ${what} (config: ${sandbox.appFile})`);
      say(`${app} in the Temporal UI: ${workflowUiUrl(uiPort, settings.namespace, app)}`);
    });
    await follow(sandbox, app, () => query(client, app), signal);
  } catch (err) {
    if (!signal.aborted) say(`the example app: ${(err as Error).message}`);
  } finally {
    await connection?.close();
  }
}

async function query(client: Client, app: string): Promise<AppStatus | undefined> {
  try {
    return await appWorkflowHandle(client, workflowId(app)).query(statusQuery);
  } catch {
    return undefined; // no worker has answered yet
  }
}

/** Prints each change of phase, and each new RUNNING instance with its kill command. */
async function follow(
  sandbox: Sandbox,
  app: string,
  status: () => Promise<AppStatus | undefined>,
  signal: AbortSignal,
): Promise<void> {
  let shown = '';
  let running: string | undefined; // the instance last announced
  let downSince: number | undefined; // when that instance was first seen not Running
  while (!signal.aborted) {
    const s = await status();
    const id = s?.yarnAppId ?? undefined;
    if (s?.phase === Phase.Running && id !== undefined && id !== running) {
      // Until the restart is handled, the status still names the instance from the previous cluster.
      if (await sandbox.isRunning(id)) {
        const back =
          downSince === undefined ? '' : ` (${Math.round((Date.now() - downSince) / 1000)} s later)`;
        say(
          running === undefined
            ? `${app} is Running on the local YARN as ${id}`
            : `${app} is Running again as ${id}${back}, restarts: ${s.totalRestarts}`,
        );
        say('kill it, and Kappa brings it back:');
        console.error(`  ${sandbox.yarnCommand} application -kill ${id}`);
        running = id;
        downSince = undefined;
        shown = `${s.phase} ${id}`;
      }
    } else if (s && s.phase !== Phase.Running) {
      const line = `${app}: ${s.phase}${detail(s)}`;
      if (running !== undefined && downSince === undefined) downSince = Date.now();
      if (line !== shown) say(line);
      shown = line;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function detail(s: AppStatus): string {
  if (s.phase === Phase.Starting) {
    return s.step ? ` (step ${s.step})` : s.acceptedSince ? ' (ACCEPTED by YARN, not RUNNING yet)' : '';
  }
  if (s.phase === Phase.BackingOff && s.nextRestartAt) {
    return ` (restart ${s.restarts} at ${s.nextRestartAt.slice(11, 19)} UTC): ${firstLine(s.lastError)}`;
  }
  return s.lastError ? `: ${firstLine(s.lastError)}` : '';
}

const firstLine = (text: string | null) => (text ?? '').split('\n')[0]?.slice(0, 200) ?? '';
