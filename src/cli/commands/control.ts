// `kappa stop APP [--leave-running]` and `kappa restart APP`. A stop held up (the kill of the YARN application on
// an edge node that does not answer) says what it waits for, until when at most, and how to stop without killing.
import { setTimeout as sleep } from 'node:timers/promises';
import { restartSignal, stopSignal } from '../../workflows/definitions.js';
import { queryAppStatus, type AppWorkflowHandle } from '../app-status.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { Timeout } from '../options.js';
import { stopWait } from '../stop-wait.js';

export interface StopOptions {
  leaveRunning?: boolean;
  reason?: string;
  timeout: Timeout;
}

async function runningApp(ctx: CliContext, app: string) {
  const { handle, description } = await ctx.appHandle(app);
  if (description.status.name !== 'RUNNING') {
    throw new CliError(`app "${app}" is not running (its workflow is ${description.status.name})`);
  }
  return handle;
}

/** How often a waiting stop looks at what the workflow is doing. */
const LOOK_EVERY_MS = 2_000;

export async function stopCommand(ctx: CliContext, app: string, options: StopOptions): Promise<number> {
  const handle = await runningApp(ctx, app);
  await handle.signal(stopSignal, {
    leaveRunning: options.leaveRunning ?? false,
    reason: options.reason ?? 'kappa stop',
  });
  console.log(
    `${app}: stop requested${options.leaveRunning ? ' (leaving the YARN application running)' : ''}`,
  );
  const ended = handle.result().then(
    (status) => ({ status }),
    (error: unknown) => ({ error }),
  );
  const deadline = Date.now() + options.timeout.ms;
  let waiting: string[] = [];
  let told = false;
  for (;;) {
    const look = Math.max(0, Math.min(LOOK_EVERY_MS, deadline - Date.now()));
    const outcome = await Promise.race([ended, sleep(look).then(() => undefined)]);
    if (outcome && 'status' in outcome) {
      console.log(`${app}: ${outcome.status.phase}`);
      return ExitCode.ok;
    }
    if (outcome) {
      const err = outcome.error as Error;
      throw new CliError(
        `${app}: stop failed: ${err.cause instanceof Error ? err.cause.message : err.message}`,
      );
    }
    if (Date.now() >= deadline) {
      const why = waiting.length > 0 ? `: ${waiting.join('; ')}` : `; see \`kappa status ${app}\``;
      console.error(`${app}: still stopping after ${options.timeout.text}${why}`);
      return ExitCode.timedOut;
    }
    // Held up (an edge node that does not answer the kill): say what for, how long at most, and the way out.
    waiting = await whatStopWaitsFor(ctx, handle).catch(() => waiting);
    if (waiting.length > 0 && !told) {
      told = true;
      for (const line of waiting) console.error(`${app}: ${line}`);
    }
  }
}

async function whatStopWaitsFor(ctx: CliContext, handle: AppWorkflowHandle): Promise<string[]> {
  const [description, status] = await Promise.all([handle.describe(), queryAppStatus(handle)]);
  return stopWait(await ctx.client(), description, status);
}

export async function restartCommand(
  ctx: CliContext,
  app: string,
  options: { reason?: string },
): Promise<number> {
  const handle = await runningApp(ctx, app);
  await handle.signal(restartSignal, { reason: options.reason ?? 'kappa restart' });
  console.log(`${app}: restart requested (not counted against the restart budget)`);
  return ExitCode.ok;
}
