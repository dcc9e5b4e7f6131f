// The parts of scripts/bench-supervise.ts: `kappa worker` and `kappa deploy` processes, the app files, the probe of
// live instances, the takeover measurement, and the table.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { mapInOrder } from '../../src/common/concurrency.js';
import * as model from '../../test/support/yarn-model.cjs';
import type { YarnDouble } from '../../test/support/yarn-double.js';
import { CLK_TCK } from './edge-meter.js';

export const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');
/** The node flags bin/kappa's first line gives (`#!/usr/bin/env -S node FLAGS`): the worker runs with them. */
const KAPPA_NODE_FLAGS = readFileSync(KAPPA, 'utf8').split('\n')[0]!.split(' ').slice(3);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `kappa worker` in its own process group (SIGKILL to the group takes all of it). */
export interface WorkerProc {
  child: ChildProcess;
  pid: number;
  /** Its Temporal identity (the SDK's default, `pid@host`). */
  identity: string;
  output: () => string;
  alive: () => boolean;
}

/**
 * The worker as the container image runs it: compiled (`npm run build`, dist/) with the workflow code bundled
 * beforehand (dist/workflow-bundle.js), so neither tsx nor webpack is in its memory or its CPU. Returns a launcher
 * script for node; built once per benchmark run.
 */
export function buildDistWorker(): string {
  const root = join(__dirname, '..', '..');
  const run = (args: string[]) =>
    execFileSync('npx', args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  process.stderr.write('building dist/ and dist/workflow-bundle.js for the worker...\n');
  run(['tsc', '-p', 'tsconfig.build.json']);
  run(['tsx', 'scripts/bundle-workflows.ts', join(root, 'dist', 'workflow-bundle.js')]);
  const launcher = join(mkdtempSync(join(tmpdir(), 'kappa-bench-')), 'kappa.cjs');
  writeFileSync(launcher, `require(${JSON.stringify(join(root, 'dist', 'cli', 'main.js'))}).runCli();\n`);
  return launcher;
}

/** `kappa worker`: from dist/ through `launcher` (buildDistWorker), else bin/kappa (TypeScript through tsx). */
export async function startWorker(
  configFile: string,
  options: { profileDir?: string; launcher?: string } = {},
): Promise<WorkerProc> {
  const args = ['--worker-config', configFile, 'worker'];
  const { profileDir, launcher } = options;
  // node --cpu-prof is refused in NODE_OPTIONS: the worker is run by node itself then.
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...KAPPA_NODE_FLAGS, ...nodeArgs, launcher ?? KAPPA, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-20_000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const worker: WorkerProc = {
    child,
    pid: child.pid!,
    identity: `${child.pid}@${hostname()}`,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
  };
  const until = Date.now() + 120_000;
  while (!output.includes('kappa worker: task queue')) {
    if (!worker.alive() || Date.now() > until) throw new Error(`kappa worker did not start: ${output}`);
    await sleep(200);
  }
  return worker;
}

/** SIGTERM (a clean exit, so a CPU profile is written), SIGKILL to the group after `graceMs`. */
export async function stopWorker(worker: WorkerProc, signal: 'SIGTERM' | 'SIGKILL', graceMs = 30_000) {
  if (!worker.alive()) return;
  const exited = new Promise((r) => worker.child.once('exit', r));
  const kill = (s: NodeJS.Signals) => {
    try {
      process.kill(-worker.pid, s);
    } catch {
      // gone
    }
  };
  kill(signal);
  if (signal === 'SIGTERM') await Promise.race([exited, sleep(graceMs).then(() => kill('SIGKILL'))]);
  await exited;
}

/** RSS (MiB) and CPU ticks (user + system) of one process. */
export function procStats(pid: number): { rssMiB: number; cpuSeconds: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      rssMiB: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024,
      cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLK_TCK,
    };
  } catch {
    return { rssMiB: 0, cpuSeconds: 0 };
  }
}

/**
 * CPU seconds of one process per thread name (`comm`: node's main thread, `V8 DefaultWorke` GC/compiler helpers,
 * `tokio-runtime-w` the SDK's Rust core, libuv's pool, workflow worker threads): where a worker's CPU goes.
 */
export function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return byName;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
      byName.set(name, (byName.get(name) ?? 0) + seconds);
    } catch {
      // the thread ended
    }
  }
  return byName;
}

/** `threadCpu` growth over a window, as "% of a core" per thread name, largest first. */
export function threadCpuText(
  before: Map<string, number>,
  after: Map<string, number>,
  seconds: number,
): string {
  return [...after]
    .map(([name, cpu]) => [name, ((cpu - (before.get(name) ?? 0)) / seconds) * 100] as const)
    .filter(([, pct]) => pct >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, pct]) => `${name.trim()} ${pct.toFixed(2)}%`)
    .join(', ');
}

/** N StreamingApp files in `dir`, as an operator would write them for `kappa deploy DIR`. */
export function writeAppFiles(dir: string, names: string[], double: YarnDouble, poll: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of names) {
    const app = {
      apiVersion: 'kappa/v1',
      kind: 'StreamingApp',
      metadata: { name },
      spec: {
        yarn: { host: 'edge-1', appName: yarnName(name), pollInterval: poll, appearTimeout: '5m' },
        // The shortest backoff `kappa deploy` accepts (the limits' minimum).
        restartPolicy: { maxRestarts: 100, backoff: { initial: '1s', factor: 1, max: '1s' } },
        steps: [{ name: 'submit', ssh: double.submitStep(yarnName(name)) }],
      },
    };
    writeFileSync(join(dir, `${name}.yaml`), stringify(app));
  }
}

export const yarnName = (name: string) => `Bench ${name}`;

/**
 * `kappa deploy DIR/*.yaml` as a CI job runs it (the shell's glob: `kappa deploy DIR` does not expand a
 * directory, unlike `kappa validate`); resolves when it exits 0.
 */
export function kappaDeploy(configFile: string, address: string, dir: string): Promise<void> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
  const child = spawn(KAPPA, ['--worker-config', configFile, '--address', address, 'deploy', ...files], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-5_000)));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`kappa deploy exited ${code}: ${stderr}`)),
    ),
  );
}

/** Reads the double's state every second (as the fault suite's Probe does), over all apps: most live per name. */
export class LiveProbe {
  maxLive = 0;
  worst = '';
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly stateDir: string) {
    this.loop = this.run();
  }

  async stop(): Promise<number> {
    this.running = false;
    await this.loop;
    return this.maxLive;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const at = Date.now();
      const live = new Map<string, number>();
      for (const app of model.apps(this.stateDir)) {
        if (model.isLive(app.state)) live.set(app.name, (live.get(app.name) ?? 0) + 1);
      }
      for (const [name, count] of live) {
        if (count > this.maxLive) [this.maxLive, this.worst] = [count, name];
      }
      await sleep(Math.max(0, at + 1_000 - Date.now()));
    }
  }
}

interface Supervision {
  identity: string;
  /** When the superviseApp attempt now pending was started (epoch ms), 0 if not started. */
  startedAt: number;
}

/** Each app's pending superviseApp activity: which worker runs it, since when. */
export async function supervisions(client: Client, names: string[]): Promise<Map<string, Supervision>> {
  const found = await mapInOrder(names, 16, async (name) => {
    const { raw } = await client.workflow.getHandle(`kappa/${name}`).describe();
    const a = (raw.pendingActivities ?? []).find((p) => p.activityType?.name === 'superviseApp');
    const t = a?.lastStartedTime;
    const startedAt = t ? Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : 0;
    return [name, { identity: a?.lastWorkerIdentity ?? '', startedAt }] as const;
  });
  return new Map(found);
}

/**
 * SIGKILLs `victim` and waits until every app whose superviseApp it ran has that activity started again by
 * another worker (Temporal's pending activity: lastStartedTime after the kill, another identity). Returns the
 * seconds from the kill to the last such start, and how many apps the worker had.
 */
export async function takeover(
  client: Client,
  names: string[],
  victim: WorkerProc,
): Promise<{ seconds: number; apps: number }> {
  const held = [...(await supervisions(client, names))]
    .filter(([, s]) => s.identity === victim.identity)
    .map(([name]) => name);
  const killedAt = Date.now();
  await stopWorker(victim, 'SIGKILL');
  let waiting = held;
  let last = killedAt;
  const until = killedAt + 10 * 60_000;
  while (waiting.length > 0) {
    if (Date.now() > until) throw new Error(`${waiting.length} apps not taken over within 10 min`);
    await sleep(2_000);
    const now = await supervisions(client, waiting);
    waiting = waiting.filter((name) => {
      const s = now.get(name)!;
      const again = s.startedAt > killedAt && s.identity !== victim.identity && s.identity !== '';
      if (again) last = Math.max(last, s.startedAt);
      return !again;
    });
  }
  return { seconds: (last - killedAt) / 1000, apps: held.length };
}

export interface Row {
  n: number;
  method: string;
  workers: number;
  listsPerMin: number;
  yarnCallsPerMin: number;
  edgeCpuPerMin: number;
  rssMiB: number;
  cpuPercent: number;
  /** Kill -> the workflow heard of it (the supervision ended). */
  noticeP50: number;
  noticeP95: number;
  /** Kill -> spark-submit run again. */
  p50: number;
  p95: number;
  kills: number;
  startSeconds: number;
  takeoverSeconds: number | null;
  takenOver: number;
  resubmits: number | null;
  maxLive: number;
}

export function printTable(
  rows: Row[],
  run: { poll: string; window: string; restPoll: string; double: 'server' | 'process' },
): void {
  const f = (x: number | null, d = 1) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
  const table = [
    ['N', 'method', 'workers', 'lists/min', 'edge CPU s/min', 'real-yarn est s/min', 'worker RSS MiB'],
    ...rows.map((r) => [
      String(r.n),
      r.method,
      String(r.workers),
      f(r.listsPerMin),
      f(r.edgeCpuPerMin, 2),
      r.method === 'cli' ? f(r.yarnCallsPerMin * 1.0) : '-',
      f(r.rssMiB, 0),
    ]),
  ];
  const more = [
    [
      'worker CPU %',
      'detect p50 s',
      'detect p95 s',
      'restart p50 s',
      'restart p95 s',
      'kills',
      'start-up s',
      'takeover s',
      'resubmits',
      'max live',
    ],
    ...rows.map((r) => [
      f(r.cpuPercent),
      f(r.noticeP50, 2),
      f(r.noticeP95, 2),
      f(r.p50, 2),
      f(r.p95, 2),
      String(r.kills),
      f(r.startSeconds),
      r.takeoverSeconds === null ? '-' : `${f(r.takeoverSeconds)} (${r.takenOver} apps)`,
      r.resubmits === null ? '-' : String(r.resubmits),
      String(r.maxLive),
    ]),
  ];
  const all = table.map((row, i) => [...row, ...more[i]!]);
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  console.log(
    `poll interval ${run.poll} (rest: the host's yarnRest.pollInterval ${run.restPoll}), steady window ${run.window}, one edge node`,
  );
  for (const row of all) console.log(row.map((c, i) => c.padStart(widths[i]!)).join('  '));
  for (const line of legend(run.double)) console.log(line);
}

const legend = (double: 'server' | 'process') => [
  'lists/min: cli, `yarn application -list` calls; rest, full lists GET /ws/v1/cluster/apps?states=… (each comes in',
  '  one curl with a GET /ws/v1/cluster/info; between them, polls for changes: printed above); steady window, all',
  '  workers together.',
  "edge CPU s/min: the edge node's CPU: its sshd and everything under it (sessions, shells, the double's wrappers,",
  "  curl), exited children included, and the yarn double's server if one runs; steady window. The yarn/spark-submit",
  double === 'server'
    ? '  double is one long-lived node server, a few ms of CPU a call besides its sh wrapper and curl (--double server);'
    : '  double starts node per call, 0.05-0.1 CPU-s each (--double process);',
  "  a real yarn or spark-submit is a JVM costing far more, on an edge node that is not the worker's machine:",
  'real-yarn est s/min: cli with a real yarn JVM, yarn calls/min x 1.0 CPU-s (0.7-1.25 CPU-s per real',
  '  `yarn application -list`, measured on the real tier); rest runs the real curl, so its measured edge CPU stands.',
  'worker RSS MiB, worker CPU %: all kappa worker processes together, end of / over the steady window (% of a core).',
  'detect p50/p95 s: an app killed from outside -> its supervision reports the end to the workflow (history).',
  'restart p50/p95 s: the same kill -> its spark-submit run again (after a fresh existence check and the backoff,',
  '  1 s, the minimum deploy accepts).',
  'start-up s: `kappa deploy DIR` (N app files) started -> the last of the N apps Running (its workflow history: the upsert of phase Running).',
  'takeover s: one of the workers SIGKILLed -> every superviseApp it ran started again on another worker',
  '  (pending activity: lastStartedTime after the kill, another identity); (apps it held).',
  'resubmits: spark-submit calls from the worker kill until 3 poll intervals after the takeover (must be 0).',
  "max live: most live YARN instances of any one app name, the double's state read every second, whole run (must be 1).",
];
