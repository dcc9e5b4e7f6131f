// One `kappa dev` per data directory: two dev servers on one SQLite file, or two sandboxes in one work dir, would
// break each other. A pid file says who holds it; one whose process is gone is taken over.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `dir`'s lock or throws a CliError naming the holder; returns the release. */
export function lockDevDir(dir: string): () => void {
  const file = join(dir, 'kappa-dev.pid');
  const mine = String(process.pid);
  for (let tries = 0; ; tries++) {
    try {
      writeFileSync(file, mine, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 0) throw err;
    }
    const holder = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(holder) && holder > 0 && alive(holder)) {
      throw new CliError(
        `another kappa dev (pid ${holder}) uses ${dir}; stop it first, or give this one its own KAPPA_CACHE`,
      );
    }
    rmSync(file, { force: true }); // left by a kappa dev that was killed
  }
  const release = () => {
    try {
      if (readFileSync(file, 'utf8').trim() === mine) rmSync(file, { force: true });
    } catch {
      // gone already
    }
  };
  process.once('exit', release);
  return () => {
    process.removeListener('exit', release);
    release();
  };
}
