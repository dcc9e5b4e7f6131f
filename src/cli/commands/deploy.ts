// `kappa deploy FILE... [--wait] [--timeout DUR] [--json]`
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { parseDuration } from '../../common/duration.js';
import { Phase, TERMINAL_PHASES } from '../../common/phases.js';
import { SearchAttribute, WORKFLOW_TYPE, workflowId } from '../../common/temporal-names.js';
import type { AppConfig } from '../../config/app-config.js';
import { loadAppFiles } from '../../config/load.js';
import { ConfigError } from '../../config/yaml-source.js';
import {
  deployUpdate,
  statusQuery,
  type AppStatus,
  type AppWorkflowInput,
} from '../../workflows/definitions.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export interface DeployOptions {
  wait?: boolean;
  timeout: string;
  json?: boolean;
}

export type DeployAction = 'started' | 'updated' | 'unchanged';

export interface DeployReport {
  app: string;
  workflowId: string;
  action: DeployAction;
  revision: number;
  phase?: string;
  yarnAppId?: string | null;
  error?: string | null;
}

/** Starts the app's workflow, or sends its running workflow the `deploy` update. */
export async function deployApp(client: Client, taskQueue: string, config: AppConfig): Promise<DeployReport> {
  const app = config.metadata.name;
  const id = workflowId(app);
  const input: AppWorkflowInput = { config, revision: 1 };
  try {
    await client.workflow.start(WORKFLOW_TYPE, {
      workflowId: id,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SearchAttribute.KappaApp, value: app },
        { key: SearchAttribute.KappaKind, value: config.kind },
        { key: SearchAttribute.KappaPhase, value: Phase.Starting },
        { key: SearchAttribute.KappaRestarts, value: 0 },
      ],
    });
    return { app, workflowId: id, action: 'started', revision: 1 };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  try {
    const result = await client.workflow.getHandle(id).executeUpdate(deployUpdate, { args: [config] });
    return {
      app,
      workflowId: id,
      action: result.changed ? 'updated' : 'unchanged',
      revision: result.revision,
    };
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      throw new CliError(
        `${app}: the running app rejected this config:\n${err.cause?.message ?? err.message}`,
      );
    }
    throw err;
  }
}

export async function deployCommand(
  ctx: CliContext,
  files: string[],
  options: DeployOptions,
): Promise<number> {
  const timeoutMs = parseDuration(options.timeout);
  if (timeoutMs === undefined)
    throw new CliError(
      `--timeout: expected a duration such as 10m, got "${options.timeout}"`,
      ExitCode.usage,
    );
  const { apps, issues } = loadAppFiles(files, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  if (issues.length > 0) throw new ConfigError(issues);

  const client = await ctx.client();
  const reports: DeployReport[] = [];
  for (const { config } of apps) {
    const report = await deployApp(client, ctx.settings.taskQueue, config);
    reports.push(report);
    if (!options.json) console.log(`${report.app}: ${report.action} (revision ${report.revision})`);
  }

  let exitCode: number = ExitCode.ok;
  if (options.wait) {
    const deadline = Date.now() + timeoutMs;
    for (const report of reports) {
      const outcome = await waitForApp(client, report, deadline, !options.json);
      Object.assign(report, {
        phase: outcome.status?.phase,
        yarnAppId: outcome.status?.yarnAppId,
        error: outcome.status?.lastError,
      });
      if (outcome.result === 'timedOut') exitCode = ExitCode.timedOut;
      else if (outcome.result === 'failed' && exitCode === ExitCode.ok) exitCode = ExitCode.failed;
    }
  }
  if (options.json) console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
  return exitCode;
}

/** Follows an app's phases until it runs this revision (or a batch run ends), it fails, or the deadline passes. */
async function waitForApp(
  client: Client,
  report: DeployReport,
  deadline: number,
  print: boolean,
): Promise<{ result: 'ready' | 'failed' | 'timedOut'; status?: AppStatus }> {
  const handle = client.workflow.getHandle(report.workflowId);
  const live = print && process.stdout.isTTY;
  let shown = '';
  let status: AppStatus | undefined;
  const show = (line: string) => {
    if (line === shown) return;
    shown = line;
    if (live) process.stdout.write(`\r\x1b[2K${line}`);
    else if (print) console.log(line);
  };
  try {
    for (;;) {
      try {
        status = await handle.query(statusQuery);
      } catch {
        status = undefined; // not answered yet (no worker has picked the workflow up)
      }
      if (status) {
        const current = status.attempts.at(-1);
        const step = status.step ? ` step ${status.step}` : '';
        show(
          `${report.app}: ${status.phase}${step} (revision ${status.revision}, restarts ${status.restarts})`,
        );
        const thisRevision = status.revision === report.revision && current?.revision === report.revision;
        if (status.kind === 'StreamingApp' && status.phase === Phase.Running && thisRevision)
          return { result: 'ready', status };
        if (status.phase === Phase.Succeeded && thisRevision) return { result: 'ready', status };
        if (TERMINAL_PHASES.includes(status.phase)) return { result: 'failed', status };
      } else {
        show(`${report.app}: waiting for a worker on the task queue`);
      }
      if (Date.now() >= deadline) return { result: 'timedOut', status };
      await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(0, deadline - Date.now()))));
    }
  } finally {
    if (live) process.stdout.write('\n');
    if (print && status?.lastError && status.phase !== Phase.Running)
      console.log(`${report.app}: last error: ${status.lastError}`);
  }
}
