// A lock between processes sharing a state directory: mkdir is atomic. The yarn double (plain JS, run over SSH)
// takes the same `lock` directory, so the test and the double never write over each other.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export function withDirLock<T>(dir: string, what: string, fn: () => T): T {
  const lock = join(dir, 'lock');
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 20_000) throw new Error(`${what}: lock ${lock} held too long`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
