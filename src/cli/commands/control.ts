// `kappa stop APP [--leave-running]` and `kappa restart APP`
import { restartSignal, stopSignal } from '../../workflows/definitions.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';
import type { Timeout } from '../options.js';

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

export async function stopCommand(ctx: CliContext, app: string, options: StopOptions): Promise<number> {
  const handle = await runningApp(ctx, app);
  await handle.signal(stopSignal, {
    leaveRunning: options.leaveRunning ?? false,
    reason: options.reason ?? 'kappa stop',
  });
  console.log(
    `${app}: stop requested${options.leaveRunning ? ' (leaving the YARN application running)' : ''}`,
  );
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timedOut'>((resolve) => {
    timer = setTimeout(() => resolve('timedOut'), options.timeout.ms);
  });
  try {
    const result = await Promise.race([handle.result(), timedOut]);
    if (result === 'timedOut') {
      console.error(`${app}: still stopping after ${options.timeout.text}; see \`kappa status ${app}\``);
      return ExitCode.timedOut;
    }
    console.log(`${app}: ${result.phase}`);
    return ExitCode.ok;
  } catch (err) {
    throw new CliError(
      `${app}: stop failed: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
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
