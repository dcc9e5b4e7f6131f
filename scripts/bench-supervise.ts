// Benchmark: supervising N apps on one edge node (`npm run bench:supervise [-- --n 1,100,1000 --window 60s]`).
// Real parts: a Temporal dev server, OpenSSH sshd on loopback, a `kappa worker` process with the production
// activities; the yarn/spark-submit double plays the ResourceManager. Prints, per N: yarn invocations per
// minute, the worker's RSS and CPU, and detection latency (app killed -> its steps running again) p50/p95.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { deployApp } from '../src/cli/commands/deploy.js';
import { durationMs } from '../src/common/duration.js';
import { TASK_QUEUE } from '../src/common/temporal-names.js';
import { validateAppConfig } from '../src/config/validate-app.js';
import { connectClient, startServer, tempDir, waitFor } from '../test/support/harness.js';
import { Sshd } from '../test/support/sshd.js';
import { YarnDouble } from '../test/support/yarn-double.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1,100,1000' },
    window: { type: 'string', default: '60s' },
    poll: { type: 'string', default: '10s' },
    kills: { type: 'string', default: '10' },
    cache: { type: 'string' },
    /** Writes the worker's CPU profile (node --cpu-prof) into this directory. */
    profile: { type: 'string' },
  },
});
const sizes = values.n.split(',').map(Number);
const windowMs = durationMs(values.window);
const CLK_TCK = 100;

interface Result {
  n: number;
  listsPerMin: number;
  yarnCallsPerMin: number;
  rssMiB: number;
  cpuPercent: number;
  p50: number;
  p95: number;
  kills: number;
  startSeconds: number;
}

function procStats(pid: number): { rssMiB: number; cpuTicks: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { rssMiB: rssKb / 1024, cpuTicks: Number(fields[11]) + Number(fields[12]) };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function benchOne(sshd: Sshd, n: number): Promise<Result> {
  const server = await startServer();
  const double = new YarnDouble(tempDir('bench-double'));
  const configFile = join(tempDir('bench-config'), 'worker.yaml');
  writeFileSync(
    configFile,
    stringify({
      temporal: { address: server.address },
      hosts: { 'edge-1': await sshd.hostConfig(double.yarn) },
      ...(values.cache ? { maxCachedWorkflows: Number(values.cache) } : {}),
    }),
  );
  const kappa = join(__dirname, '..', 'bin', 'kappa');
  const workerArgs = ['--worker-config', configFile, 'worker'];
  // node --cpu-prof is refused in NODE_OPTIONS: the worker is run by node itself then.
  const worker: ChildProcess = values.profile
    ? spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${values.profile}`, kappa, ...workerArgs], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(kappa, workerArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawnedAt = Date.now();
  let workerOutput = '';
  worker.stdout!.on('data', (d: Buffer) => (workerOutput = (workerOutput + d.toString()).slice(-20_000)));
  worker.stderr!.on('data', (d: Buffer) => (workerOutput = (workerOutput + d.toString()).slice(-20_000)));
  const { client, close } = await connectClient(server);
  try {
    await waitFor('the worker', () => workerOutput.includes('kappa worker: task queue'), 120_000);
    const started = Date.now();
    const names = Array.from({ length: n }, (_, i) => `bench-${i}`);
    const appName = (name: string) => `Bench ${name}`;
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((name) => {
          const result = validateAppConfig({
            apiVersion: 'kappa/v1',
            kind: 'StreamingApp',
            metadata: { name },
            spec: {
              yarn: {
                host: 'edge-1',
                appName: appName(name),
                pollInterval: values.poll,
                appearTimeout: '5m',
              },
              restartPolicy: { maxRestarts: 100, backoff: { initial: '100ms', factor: 1, max: '100ms' } },
              steps: [
                {
                  name: 'submit',
                  ssh: double.submitStep(appName(name)),
                },
              ],
            },
          });
          if (!result.ok) throw new Error(JSON.stringify(result.issues));
          return deployApp(client, TASK_QUEUE, result.config);
        }),
      );
    }
    await waitFor(
      `${n} apps running`,
      async () =>
        (await client.workflow.count(`WorkflowType = 'appWorkflow' AND KappaPhase = 'Running'`)).count ===
          n || undefined,
      30 * 60_000,
    );
    const startSeconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `  N=${n}: all running after ${startSeconds.toFixed(1)} s; measuring ${values.window}...\n`,
    );

    // Steady state: nothing happens but supervision.
    await new Promise((r) => setTimeout(r, 5_000));
    const before = procStats(worker.pid!);
    const since = Date.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const after = procStats(worker.pid!);
    const elapsed = Date.now() - since;
    if (values.profile) {
      process.stderr.write(
        `  steady window: ${((since - spawnedAt) / 1000).toFixed(1)}–${((since + elapsed - spawnedAt) / 1000).toFixed(1)} s after the worker started\n`,
      );
    }
    const perMinute = (count: number) => (count * 60_000) / elapsed;
    const lists = double.listCalls(since).length;
    const yarnCalls = double.calls((c) => c.tool === 'yarn' && c.at >= since).length;
    const cpuPercent = ((after.cpuTicks - before.cpuTicks) / CLK_TCK / (elapsed / 1000)) * 100;

    // Detection latency: kill apps from outside, one every 2 s, and time until each is submitted again.
    const kills = Math.min(n, Number(values.kills));
    const victims = names.filter((_, i) => i % Math.max(1, Math.floor(n / kills)) === 0).slice(0, kills);
    const killedAt = new Map<string, number>();
    for (const name of victims) {
      const [app] = double.live(appName(name));
      if (!app) throw new Error(`${name} not live`);
      killedAt.set(name, Date.now());
      double.killFromOutside(app.id);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    let lastReport = Date.now();
    const latencies = await waitFor(
      'every killed app submitted again',
      async () => {
        const out: number[] = [];
        const waiting: string[] = [];
        for (const [name, at] of killedAt) {
          const resubmit = double.submits(appName(name)).find((c) => c.at >= at);
          if (resubmit) out.push(resubmit.at - at);
          else waiting.push(name);
        }
        if (waiting.length > 0 && Date.now() - lastReport > 30_000) {
          lastReport = Date.now();
          const phases = await Promise.all(
            waiting.map((name) =>
              client.workflow
                .getHandle(`kappa/${name}`)
                .query<{ phase: string; lastError: string | null }>('status')
                .then(
                  (s) => `${name}: ${s.phase} ${s.lastError ?? ''}`,
                  (e: Error) => `${name}: ${e.message}`,
                ),
            ),
          );
          process.stderr.write(
            `  still waiting for ${waiting.length} resubmissions:\n    ${phases.join('\n    ')}\n`,
          );
        }
        return waiting.length === 0 ? out : undefined;
      },
      10 * 60_000,
    );
    latencies.sort((a, b) => a - b);
    return {
      n,
      listsPerMin: perMinute(lists),
      yarnCallsPerMin: perMinute(yarnCalls),
      rssMiB: after.rssMiB,
      cpuPercent,
      p50: percentile(latencies, 50) / 1000,
      p95: percentile(latencies, 95) / 1000,
      kills,
      startSeconds,
    };
  } finally {
    if (worker.exitCode === null && worker.signalCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.once('exit', r));
    }
    await close();
    await server.stop();
  }
}

async function main() {
  const sshd = new Sshd();
  await sshd.start();
  const results: Result[] = [];
  try {
    for (const n of sizes) results.push(await benchOne(sshd, n));
  } finally {
    await sshd.stop();
  }
  const rows = [
    [
      'N',
      'yarn -list/min',
      'yarn calls/min',
      'worker RSS MiB',
      'worker CPU %',
      'detect p50 s',
      'detect p95 s',
      'kills',
      'all running after s',
    ],
    ...results.map((r) => [
      String(r.n),
      r.listsPerMin.toFixed(1),
      r.yarnCallsPerMin.toFixed(1),
      r.rssMiB.toFixed(0),
      r.cpuPercent.toFixed(1),
      r.p50.toFixed(2),
      r.p95.toFixed(2),
      String(r.kills),
      r.startSeconds.toFixed(1),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  console.log(`poll interval ${values.poll}, steady window ${values.window}, one edge node`);
  for (const row of rows) console.log(row.map((c, i) => c.padStart(widths[i]!)).join('  '));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
