// `kappa deploy FILE|DIR... [--wait] [--timeout DUR] [--json]` and `kappa run JOB`
import { deploySchedule, triggerRun } from '../schedules.js';
import {
  ScheduleNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { Phase, TERMINAL_PHASES } from '../../common/phases.js';
import { initialSearchAttributes, WORKFLOW_TYPE, workflowId } from '../../common/temporal-names.js';
import type { AppConfig } from '../../config/app-config.js';
import { expandConfigPaths, loadAppFiles } from '../../config/load.js';
import { ConfigError } from '../../config/yaml-source.js';
import type { appWorkflow } from '../../workflows/app-workflow.js';
import {
  deployUpdate,
  statusQuery,
  type AppStatus,
  type AppWorkflowInput,
} from '../../workflows/definitions.js';
import { appWorkflowHandle } from '../app-status.js';
import type { CliContext } from '../context.js';
import { mapInOrder } from '../../common/concurrency.js';
import { CliError, ExitCode } from '../errors.js';
import type { Timeout } from '../options.js';
import { appDetails, appSummary } from '../../workflows/ui-details.js';

/** Deploys in flight at once: a directory of a thousand apps takes seconds, not one round trip after another. */
const DEPLOY_CONCURRENCY = 16;
/** Apps waited for at once; each asks its workflow for its status once a second. */
const WAIT_CONCURRENCY = 16;

export interface DeployOptions {
  wait?: boolean;
  timeout: Timeout;
  json?: boolean;
}

/** `scheduled`: a BatchJob's schedule was created (its runs start on the schedule or with `kappa run`). */
export type DeployAction = 'started' | 'updated' | 'unchanged' | 'scheduled';

export interface DeployReport {
  app: string;
  workflowId: string;
  /** For a BatchJob: its schedule id. */
  schedule?: string;
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
    await client.workflow.start<typeof appWorkflow>(WORKFLOW_TYPE, {
      workflowId: id,
      taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: initialSearchAttributes(app, config.kind),
      // What the Temporal UI shows of the app before anything has run.
      staticSummary: appSummary(config),
      staticDetails: appDetails(config),
    });
    return { app, workflowId: id, action: 'started', revision: 1 };
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
  try {
    const result = await appWorkflowHandle(client, id).executeUpdate(deployUpdate, { args: [config] });
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
  // A directory stands for its .yaml/.yml files, as in `kappa validate` (a directory of a thousand apps).
  const paths = expandConfigPaths(files);
  const { apps, issues } = loadAppFiles(paths, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  if (issues.length > 0) throw new ConfigError(issues);
  if (apps.length === 0) {
    throw new CliError(`no app configs (.yaml, .yml) in ${files.join(', ')}`, ExitCode.usage);
  }

  const client = await ctx.client();
  // Many apps (a directory of them) deploy and are waited for a few at a time; lines print in the files' order.
  const reports = await mapInOrder(
    apps,
    DEPLOY_CONCURRENCY,
    ({ config }) =>
      config.kind === 'BatchJob'
        ? deployBatchJob(client, ctx.settings.taskQueue, config)
        : deployApp(client, ctx.settings.taskQueue, config),
    (report) => {
      if (!options.json) console.log(`${report.app}: ${report.action} (revision ${report.revision})`);
    },
  );

  let exitCode: number = ExitCode.ok;
  if (options.wait) {
    const deadline = Date.now() + options.timeout.ms;
    // A BatchJob deploy starts no run, so there is nothing to wait for (`kappa run JOB --wait` waits for one).
    const waited = reports.filter((r) => r.action !== 'scheduled' && !r.schedule);
    const print = !options.json;
    // One app's progress rewrites its line on a terminal; several print a line per change.
    const live = print && waited.length === 1 && process.stdout.isTTY;
    const outcomes = await mapInOrder(waited, WAIT_CONCURRENCY, (report) =>
      waitForApp(client, report, deadline, { print, live }),
    );
    outcomes.forEach((outcome, i) => {
      Object.assign(waited[i]!, {
        phase: outcome.status?.phase,
        yarnAppId: outcome.status?.yarnAppId,
        error: outcome.status?.lastError,
      });
      if (outcome.result === 'timedOut') exitCode = ExitCode.timedOut;
      else if (outcome.result === 'failed' && exitCode === ExitCode.ok) exitCode = ExitCode.failed;
    });
  }
  if (options.json) console.log(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
  return exitCode;
}

async function deployBatchJob(client: Client, taskQueue: string, config: AppConfig): Promise<DeployReport> {
  const action = await deploySchedule(client, taskQueue, config);
  const id = workflowId(config.metadata.name);
  return {
    app: config.metadata.name,
    workflowId: id,
    schedule: id,
    action: action === 'created' ? 'scheduled' : action,
    revision: 1,
  };
}

export async function runCommand(ctx: CliContext, job: string, options: DeployOptions): Promise<number> {
  const client = await ctx.client();
  let runId: string;
  try {
    runId = await triggerRun(client, job);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new CliError(`no BatchJob "${job}" (no schedule ${workflowId(job)}); deploy it first`);
    throw err;
  }
  const report: DeployReport = {
    app: job,
    workflowId: runId,
    schedule: workflowId(job),
    action: 'started',
    revision: 1,
  };
  if (!options.json) console.log(`${job}: run ${runId} started`);
  let exitCode: number = ExitCode.ok;
  if (options.wait) {
    const print = !options.json;
    const outcome = await waitForApp(client, report, Date.now() + options.timeout.ms, {
      print,
      live: print && process.stdout.isTTY,
    });
    Object.assign(report, {
      phase: outcome.status?.phase,
      yarnAppId: outcome.status?.yarnAppId,
      error: outcome.status?.lastError,
    });
    exitCode =
      outcome.result === 'ready'
        ? ExitCode.ok
        : outcome.result === 'timedOut'
          ? ExitCode.timedOut
          : ExitCode.failed;
  }
  if (options.json) console.log(JSON.stringify(report, null, 2));
  return exitCode;
}

/** Follows an app's phases until it runs this revision (or a batch run ends), it fails, or the deadline passes. */
async function waitForApp(
  client: Client,
  report: DeployReport,
  deadline: number,
  { print, live }: { print: boolean; live: boolean },
): Promise<{ result: 'ready' | 'failed' | 'timedOut'; status?: AppStatus }> {
  const handle = appWorkflowHandle(client, report.workflowId);
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
