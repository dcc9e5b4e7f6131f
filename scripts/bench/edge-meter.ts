// What scripts/bench-seed-vs-kappa.ts measures on the edge node:
//   - every `yarn` call of one supervisor, through a counting wrapper in front of the edge node's real `yarn`: one
//     log line per call with its start and end, exit code, and the CPU of the call (the wrapper shell's own time
//     plus that of the children it waited for, i.e. the yarn JVM: utime+stime+cutime+cstime from /proc/$$/stat, what
//     getrusage(RUSAGE_SELF) + getrusage(RUSAGE_CHILDREN) report);
//   - the CPU of a whole process tree (an sshd and every session under it), or of one process, from /proc.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { descendants } from '../../src/sandbox/local-yarn.js';

export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Single-quoted for bash. */
const sh = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;

/** Writes `dir/yarn`, which runs `real` and appends one line per call to `log`. Returns `dir`. */
export function writeCountingYarn(dir: string, real: string, log: string): string {
  writeFileSync(log, '');
  writeFileSync(
    join(dir, 'yarn'),
    [
      '#!/usr/bin/env bash',
      '# Benchmark wrapper (scripts/bench/edge-meter.ts): runs the real yarn, then logs start and end (microseconds),',
      "# exit code and this call's CPU ticks (own + waited-for children, from /proc/$$/stat). EPOCHREALTIME and read",
      '# are builtins: nothing but the yarn JVM is forked.',
      'start=${EPOCHREALTIME/./}',
      `${sh(real)} "$@"`,
      'rc=$?',
      'read -r stat < /proc/$$/stat',
      'set -- ${stat##*) }',
      `printf '%s %s %s %s\\n' "$start" "\${EPOCHREALTIME/./}" "$rc" "$(( \${12} + \${13} + \${14} + \${15} ))" >> ${sh(log)}`,
      'exit $rc',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return dir;
}

export interface YarnCall {
  /** Epoch milliseconds. */
  start: number;
  end: number;
  code: number;
  cpuSeconds: number;
}

export function readCalls(log: string): YarnCall[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [start = 0, end = 0, code = 0, ticks = 0] = line.trim().split(/\s+/).map(Number);
      return { start: start / 1000, end: end / 1000, code, cpuSeconds: ticks / CLK_TCK };
    });
}

/** CPU seconds of one process: its own and that of its children it has reaped. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14-17 of proc(5) (utime, stime, cutime, cstime), counted from `state` (field 3) here.
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / CLK_TCK;
  } catch {
    return 0; // ended meanwhile: its time is in its parent's cutime
  }
}

/**
 * CPU seconds of `root` and everything under it. A process that ended is counted once, in the cutime of the
 * parent that reaped it, so the difference between two readings is what the tree used in between.
 */
export function treeCpuSeconds(root: number): number {
  return [root, ...descendants(root)].reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
}

/** Resident memory (MiB) of `pids`. */
export function rssMiB(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // ended
    }
  }
  return kb / 1024;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
