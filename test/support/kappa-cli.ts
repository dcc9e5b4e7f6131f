// `bin/kappa` as a user runs it, in its own process: exit code, stdout and stderr.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `kappa ARGS…`; a non-zero exit is a result, not an error. */
export async function runKappa(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Ran> {
  try {
    const { stdout, stderr } = await promisify(execFile)(KAPPA, args, options);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
