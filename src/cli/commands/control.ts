// `kappa stop APP [--leave-running]` and `kappa restart APP`
import { parseDuration } from '../../common/duration.js';
import { restartSignal, stopSignal, type AppStatus } from '../../workflows/definitions.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

async function runningApp(ctx: CliContext, app: string) {
  const { handle, description } = await ctx.appHandle(app);
  if (description.status.name !== 'RUNNING') {
    throw new CliError(`app "${app}" is not running (its workflow is ${description.status.name})`);
  }
  return handle;
}

export async function stopCommand(
  ctx: CliContext,
  app: string,
  options: { leaveRunning?: boolean; reason?: string; timeout: string },
): Promise<number> {
  const timeoutMs = parseDuration(options.timeout);
  if (timeoutMs === undefined)
    throw new CliError(`--timeout: expected a duration, got "${options.timeout}"`, ExitCode.usage);
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
    timer = setTimeout(() => resolve('timedOut'), timeoutMs);
  });
  try {
    const result = await Promise.race([handle.result() as Promise<AppStatus>, timedOut]);
    if (result === 'timedOut') {
      console.error(`${app}: still stopping after ${options.timeout}; see \`kappa status ${app}\``);
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
