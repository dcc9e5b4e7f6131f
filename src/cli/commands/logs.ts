// `kappa logs APP [--yarn] [--follow]`: the output of the app's last step (stdout), what that step was and how it
// went (stderr); with --yarn the YARN application's own logs, `yarn logs` run on the app's edge node over SSH.
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { statusQuery } from '../../workflows/definitions.js';
import { queryAppStatus, type AppWorkflowHandle } from '../app-status.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import { parseTimeout, timeoutOption, type Timeout } from '../options.js';
import { readAppHistory, type AppHistory } from '../step-history.js';
import { describeStep, printStepOutput } from '../step-logs.js';
import { gained, logSections, YarnLogs } from '../yarn-logs.js';

export interface LogsOptions {
  yarn?: boolean;
  appId?: string;
  follow?: boolean;
  limitBytes: number;
  interval: Timeout;
  timeout: Timeout;
}

/** Phases in which the app's YARN application may still be writing logs. */
const LIVE_PHASES = ['Starting', 'Running', 'Degraded'];

function parseBytes(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a number of bytes, 1 or more');
  return n;
}

/** The `logs` command's description and options. */
export function logsOptions(command: Command): Command {
  return command
    .description("the last step's output (pod logs or ssh output); --yarn: the YARN application's logs")
    .option('--yarn', "the YARN application's logs: `yarn logs -applicationId ID` on the app's edge node")
    .option('--app-id <id>', "with --yarn: this YARN application, not the app's current or last one")
    .option(
      '-f, --follow',
      "keep printing: a running pod step's log; with --yarn, read the logs again while the app runs",
    )
    .addOption(
      new Option('--limit-bytes <n>', 'at most this much output (with --yarn also per log file)')
        .argParser(parseBytes)
        .default(1024 * 1024, '1 MiB'),
    )
    .addOption(
      new Option('--interval <duration>', 'with --yarn --follow: how often to read the logs again')
        .argParser(parseTimeout)
        .default(parseTimeout('10s'), '10s'),
    )
    .addOption(timeoutOption('how long one `yarn logs` may take', '2m'));
}

export async function logsCommand(ctx: CliContext, app: string, options: LogsOptions): Promise<number> {
  const { handle, description } = await ctx.appHandle(app);
  const history = await readAppHistory(await ctx.client(), description);
  const abort = new AbortController();
  const onInterrupt = () => abort.abort();
  process.once('SIGINT', onInterrupt);
  try {
    if (options.yarn) return await yarnLogs(ctx, app, handle, history, options, abort.signal);
    const last = history.steps.at(-1);
    if (!last) throw new CliError(`${app} has run no step yet (workflow ${description.workflowId})`);
    console.error(`${app}: ${describeStep(last)}`);
    const shown = await printStepOutput(last, description.workflowId, ctx.workerConfig, {
      follow: options.follow ?? false,
      limitBytes: options.limitBytes,
      signal: abort.signal,
      note: (message) => console.error(`kappa: ${message}`),
      write: (text) => process.stdout.write(text),
    });
    if (!shown) console.error(`${app}: the step left no output`);
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
}

async function yarnLogs(
  ctx: CliContext,
  app: string,
  handle: AppWorkflowHandle,
  history: AppHistory,
  options: LogsOptions,
  signal: AbortSignal,
): Promise<number> {
  const status = await queryAppStatus(handle);
  const appId = options.appId ?? status.yarnAppId ?? history.yarnAppIds.at(-1);
  if (!appId) throw new CliError(`${app} has no YARN application yet (phase ${status.phase})`);
  const host = history.host;
  if (!host) throw new CliError(`cannot tell ${app}'s edge node from its workflow's history`);
  const yarn = new YarnLogs(ctx.workerConfig, options.timeout.ms);
  const again = options.follow ? `, again every ${options.interval.text} while it runs` : '';
  console.error(`${app}: yarn logs -applicationId ${appId} on ${host}${again}`);
  try {
    const first = await yarn.fetch(host, appId, options.limitBytes);
    process.stdout.write(first);
    if (!options.follow) return ExitCode.ok;
    // `yarn logs` cannot follow: read again and print what each file gained, while the app runs this id.
    let seen = logSections(first);
    for (;;) {
      try {
        await sleep(options.interval.ms, undefined, { signal });
      } catch {
        return ExitCode.ok; // Ctrl-C
      }
      const now = await handle.query(statusQuery).catch(() => undefined);
      const live = now !== undefined && now.yarnAppId === appId && LIVE_PHASES.includes(now.phase);
      try {
        const next = logSections(await yarn.fetch(host, appId, options.limitBytes));
        process.stdout.write(gained(seen, next));
        seen = next;
      } catch (err) {
        if (!(err instanceof CliError)) throw err;
        console.error(`kappa: ${err.message} (trying again)`);
      }
      if (!live) {
        console.error(
          `${app}: ${appId} is not running any more (phase ${now?.phase ?? 'unknown'}); stopped following`,
        );
        return ExitCode.ok;
      }
    }
  } finally {
    yarn.close();
  }
}
