// Benchmark: supervising N apps on one edge node (`npm run bench:supervise [-- --n 1,100,1000 --window 60s
// --method cli,rest --workers 3 --double server|process --worker dist|tsx]`). Real parts: a Temporal dev server,
// OpenSSH sshd on loopback, `kappa worker` processes with the production activities (compiled, the workflow code
// bundled beforehand, as the container image runs them), `kappa deploy DIR` for the start-up, curl on
// the edge node for REST; the yarn/spark-submit double (test/support/yarn-double.ts) plays the ResourceManager's CLI
// side and test/support/rest-double.ts its REST API, both on one model of the RM's apps. The double runs as one
// server process (a few ms of CPU a call; --double process: node started per call, 0.05-0.1 CPU-s, which at 1000
// apps weighed on this machine's start-up); either way its CPU is counted as the edge node's. Prints, per N and poll method:
// list calls per minute, the edge node's CPU, the workers' RSS and CPU, detection latency (app killed -> its workflow
// hears of it) and restart latency (-> its steps running again) p50/p95, start-up time, and with several workers the
// takeover after one is SIGKILLed, the resubmissions it caused and the most live instances of any app seen during
// the whole run.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { mapInOrder } from '../src/common/concurrency.js';
import { durationMs } from '../src/common/duration.js';
import { freePort } from '../src/temporal/dev-server.js';
import { connectClient, startServer, tempDir, waitFor } from '../test/support/harness.js';
import { RestDouble } from '../test/support/rest-double.js';
import { Sshd } from '../test/support/sshd.js';
import { YarnDouble } from '../test/support/yarn-double.js';
import { percentile, processCpuSeconds, treeCpuSeconds } from './bench/edge-meter.js';
import { runningAt, startupTimeline, supervisionEndedAt } from './bench/startup-timeline.js';
import {
  buildDistWorker,
  kappaDeploy,
  LiveProbe,
  printTable,
  procStats,
  sleep,
  startWorker,
  stopWorker,
  takeover,
  threadCpu,
  threadCpuText,
  writeAppFiles,
  yarnName,
  type Row,
  type WorkerProc,
} from './bench/supervise-parts.js';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '1,100,1000' },
    window: { type: 'string', default: '60s' },
    /** Wait after all apps run before the steady window starts. */
    settle: { type: 'string', default: '30s' },
    poll: { type: 'string', default: '10s' },
    kills: { type: 'string', default: '10' },
    /** cli: `yarn application -list` on the edge node; rest: yarnApi rest (`yarnRest.via`: --via). */
    method: { type: 'string', default: 'cli' },
    via: { type: 'string', default: 'curl' },
    /** The host's yarnRest.pollInterval (default: the config's default). */
    'rest-poll': { type: 'string' },
    /** kappa worker processes on the task queue; with more than one, one is SIGKILLed at the end (takeover). */
    workers: { type: 'string', default: '1' },
    cache: { type: 'string' },
    partitions: { type: 'string' },
    /** Writes the worker's CPU profile (node --cpu-prof) into this directory. */
    profile: { type: 'string' },
    /** The yarn/spark-submit double: one server process for every call, or node per call. */
    double: { type: 'string', default: 'server' },
    /** dist: the worker compiled, its workflow code bundled beforehand (as the container image runs it); tsx: bin/kappa from the sources. */
    worker: { type: 'string', default: 'dist' },
  },
});
const sizes = values.n.split(',').map(Number);
const methods = values.method.split(',') as ('cli' | 'rest')[];
const workerCount = Number(values.workers);
const windowMs = durationMs(values.window);
const pollMs = durationMs(values.poll);
if (methods.some((m) => m !== 'cli' && m !== 'rest'))
  throw new Error(`--method: cli or rest, not ${values.method}`);
if (values.via !== 'curl' && values.via !== 'tunnel')
  throw new Error(`--via: curl or tunnel, not ${values.via}`);
if (values.double !== 'server' && values.double !== 'process')
  throw new Error(`--double: server or process, not ${values.double}`);
if (values.worker !== 'dist' && values.worker !== 'tsx')
  throw new Error(`--worker: dist or tsx, not ${values.worker}`);
const launcher = values.worker === 'dist' ? buildDistWorker() : undefined;

/** This script's own CPU-seconds (its children are counted apart). */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** `--partitions N`: the task queue's partitions on the dev server (Temporal's default is 4). */
const serverConfig = () =>
  values.partitions
    ? {
        'matching.numTaskqueueReadPartitions': Number(values.partitions),
        'matching.numTaskqueueWritePartitions': Number(values.partitions),
      }
    : undefined;

/** Counters of the worker's SDK metrics that say whether anything but supervision happens. */
const COUNTED = [
  'temporal_workflow_task_execution_latency_count',
  'temporal_workflow_task_replay_latency_count',
  'temporal_sticky_cache_miss',
  'temporal_activity_execution_latency_count',
  'temporal_request',
];

async function workerCounts(port: number | undefined): Promise<Record<string, number> | undefined> {
  if (port === undefined) return undefined;
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const counts: Record<string, number> = {};
    for (const line of text.split('\n')) {
      const name = COUNTED.find((n) => line.startsWith(`${n}{`) || line.startsWith(`${n} `));
      if (name) counts[name] = (counts[name] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return counts;
  } catch {
    return undefined;
  }
}

const countsText = (before: Record<string, number>, after: Record<string, number>) =>
  Object.entries(after)
    .map(([name, value]) => `${name} ${value - (before[name] ?? 0)}`)
    .join(', ');

const sshdPid = (sshd: Sshd) => Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());

/** The edge node's CPU: its sshd and everything under it, and the double's server, which is not under sshd. */
function edgeCpuSeconds(sshd: Sshd, double: YarnDouble): number {
  return treeCpuSeconds(sshdPid(sshd)) + doubleServerCpuSeconds(double);
}

const doubleServerCpuSeconds = (double: YarnDouble) =>
  double.serverPid === undefined ? 0 : processCpuSeconds(double.serverPid);

async function benchOne(sshd: Sshd, n: number, method: 'cli' | 'rest'): Promise<Row> {
  const server = await startServer(serverConfig());
  const double = new YarnDouble(tempDir('bench-double'), { server: values.double === 'server' });
  await double.start();
  const rest = method === 'rest' ? new RestDouble(double.stateDir) : undefined;
  const rm = await rest?.start();
  const configFile = join(tempDir('bench-config'), 'worker.yaml');
  const metricsPort = workerCount === 1 ? await freePort() : undefined;
  const host = await sshd.hostConfig(double.yarn);
  writeFileSync(
    configFile,
    stringify({
      temporal: { address: server.address },
      hosts: {
        'edge-1': {
          ...host,
          yarnApi: method,
          ...(rm
            ? {
                yarnRest: {
                  resourceManagers: [rm],
                  via: values.via,
                  ...(values['rest-poll'] ? { pollInterval: values['rest-poll'] } : {}),
                },
              }
            : {}),
        },
      },
      // One worker: its Prometheus endpoint tells what it did in the steady window; several share one machine.
      metrics: { port: metricsPort ?? 0, bindAddress: '127.0.0.1' },
      shutdownGraceTime: '5s',
      ...(values.cache ? { maxCachedWorkflows: Number(values.cache) } : {}),
    }),
  );
  const label = `N=${n} ${method}${workerCount > 1 ? ` ${workerCount} workers` : ''}`;
  const workers: WorkerProc[] = [];
  const probe = new LiveProbe(double.stateDir);
  const { client, close } = await connectClient(server);
  try {
    const spawnedAt = Date.now();
    for (let i = 0; i < workerCount; i++) {
      workers.push(
        await startWorker(configFile, {
          ...(i === 0 && values.profile ? { profileDir: values.profile } : {}),
          ...(launcher ? { launcher } : {}),
        }),
      );
    }
    const names = Array.from({ length: n }, (_, i) => `bench-${i}`);
    const appsDir = tempDir('bench-apps');
    writeAppFiles(appsDir, names, double, values.poll);
    // Asked every 2 s: a visibility count costs the dev server CPU the start-up competes for. When all were
    // Running is then read from the histories (runningAt), exactly and after the fact.
    const allRunning = async () => {
      const deadline = Date.now() + 30 * 60_000;
      const running = () => client.workflow.count(`WorkflowType = 'appWorkflow' AND KappaPhase = 'Running'`);
      while ((await running()).count !== n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} apps running`);
        await sleep(2_000);
      }
    };
    // CPU-seconds by part over the start-up: unlike its duration, independent of what else runs on the machine.
    const cpuAt = () => ({
      all: treeCpuSeconds(process.pid),
      workers: workers.reduce((sum, w) => sum + procStats(w.pid).cpuSeconds, 0),
      edge: edgeCpuSeconds(sshd, double),
      double: doubleServerCpuSeconds(double),
      server: processCpuSeconds(server.process.pid!),
      self: ownCpuSeconds(),
    });
    const cpuBefore = cpuAt();
    const startCountsBefore = await workerCounts(metricsPort);
    const started = Date.now();
    await kappaDeploy(configFile, server.address, appsDir);
    const deploySeconds = (Date.now() - started) / 1000;
    await allRunning();
    const seenSeconds = (Date.now() - started) / 1000;
    process.stderr.write(
      `  ${label}: kappa deploy took ${deploySeconds.toFixed(1)} s, all running seen (visibility, every 2 s) after ${seenSeconds.toFixed(1)} s; measuring ${values.window}...\n`,
    );
    const cpuAfter = cpuAt();
    const startCounts = await workerCounts(metricsPort);
    if (startCounts && startCountsBefore) {
      process.stderr.write(`  ${label}: in the start-up: ${countsText(startCountsBefore, startCounts)}\n`);
    }
    const used = (part: keyof typeof cpuAfter) => cpuAfter[part] - cpuBefore[part];
    const ofEdge =
      values.double === 'server'
        ? `the double's server ${used('double').toFixed(1)} of it`
        : 'node started per double call';
    process.stderr.write(
      `  ${label}: start-up CPU-s: all ${used('all').toFixed(1)}, workers ${used('workers').toFixed(1)}, edge node ${used('edge').toFixed(1)} (${ofEdge}), the Temporal dev server ${used('server').toFixed(1)}, kappa deploy ${(used('all') - used('workers') - used('edge') - used('server') - used('self')).toFixed(1)}, this script ${used('self').toFixed(1)}; yarn calls ${double.calls((c) => c.tool === 'yarn' && c.at >= started).length} (lists ${double.listCalls(started).length}), spark-submits ${double.calls((c) => c.tool === 'spark-submit' && c.at >= started).length}\n`,
    );
    const runningAts = await mapInOrder(names, 16, (name) => runningAt(client, name));
    const startSeconds = (Math.max(...runningAts) - started) / 1000;
    if (Number.isNaN(startSeconds)) throw new Error(`${label}: an app's history has no Running phase`);
    process.stderr.write(
      `  ${label}: all running after ${startSeconds.toFixed(1)} s (the last app's Running upsert; p50 ${((percentile(runningAts, 50) - started) / 1000).toFixed(1)} s)\n`,
    );
    const sample = names.filter((_, i) => i % Math.max(1, Math.floor(n / 50)) === 0);
    process.stderr.write(await startupTimeline(client, sample, started));

    // Steady state: nothing happens but supervision (after the start-up's garbage is collected: --settle).
    await sleep(durationMs(values.settle));
    const before = { workers: workers.map((w) => procStats(w.pid)), edge: edgeCpuSeconds(sshd, double) };
    const threadsBefore = threadCpu(workers[0]!.pid);
    const countsBefore = await workerCounts(metricsPort);
    const since = Date.now();
    await sleep(windowMs);
    const after = { workers: workers.map((w) => procStats(w.pid)), edge: edgeCpuSeconds(sshd, double) };
    const elapsed = Date.now() - since;
    const counts = await workerCounts(metricsPort);
    if (counts && countsBefore) {
      process.stderr.write(`  ${label}: in the steady window: ${countsText(countsBefore, counts)}\n`);
    }
    process.stderr.write(
      `  ${label}: worker CPU by thread: ${threadCpuText(threadsBefore, threadCpu(workers[0]!.pid), elapsed / 1000)}\n`,
    );
    if (values.profile) {
      process.stderr.write(
        `  steady window: ${((since - spawnedAt) / 1000).toFixed(1)}–${((since + elapsed - spawnedAt) / 1000).toFixed(1)} s after the worker started\n`,
      );
    }
    const perMinute = (count: number) => (count * 60_000) / elapsed;
    const lists = rest ? rest.count('list', since) : double.listCalls(since).length;
    const yarnCalls = double.calls((c) => c.tool === 'yarn' && c.at >= since).length;
    if (rest) {
      process.stderr.write(
        `  ${label}: REST in the steady window: full lists ${perMinute(lists).toFixed(1)}/min, questions of polls for changes ${perMinute(rest.count('changes', since)).toFixed(1)}/min (3 a poll)\n`,
      );
    }
    const workerCpu = after.workers.reduce((s, a, i) => s + a.cpuSeconds - before.workers[i]!.cpuSeconds, 0);

    // Detection latency: kill apps from outside, one every 2 s, and time until each is submitted again.
    const kills = Math.min(n, Number(values.kills));
    const victims = names.filter((_, i) => i % Math.max(1, Math.floor(n / kills)) === 0).slice(0, kills);
    const killedAt = new Map<string, number>();
    for (const name of victims) {
      const [app] = double.live(yarnName(name));
      if (!app) throw new Error(`${name} not live`);
      killedAt.set(name, Date.now());
      double.killFromOutside(app.id);
      await sleep(2_000);
    }
    const latencies = await waitFor(
      'every killed app submitted again',
      () => {
        const out: number[] = [];
        for (const [name, at] of killedAt) {
          const resubmit = double.submits(yarnName(name)).find((c) => c.at >= at);
          if (!resubmit) return undefined;
          out.push(resubmit.at - at);
        }
        return out;
      },
      10 * 60_000,
    );

    if (rest && killedAt.size > 0) {
      const from = Math.min(...killedAt.values());
      const seconds = (Date.now() - from) / 1000;
      process.stderr.write(
        `  ${label}: REST during the kills (${seconds.toFixed(0)} s): full lists ${rest.count('list', from)}, questions of polls for changes ${rest.count('changes', from)}\n`,
      );
    }
    const noticed = await Promise.all(
      [...killedAt].map(async ([name, at]) => (await supervisionEndedAt(client, name, at)) - at),
    );

    // Takeover: SIGKILL one worker once every app runs again; its supervisions must move without a resubmission.
    let taken: { seconds: number; apps: number } | undefined;
    let resubmits: number | null = null;
    if (workers.length > 1) {
      await allRunning();
      await sleep(pollMs);
      const submitsBefore = double.calls((c) => c.tool === 'spark-submit').length;
      process.stderr.write(`  ${label}: SIGKILL to one worker, waiting for the takeover...\n`);
      taken = await takeover(client, names, workers[workers.length - 1]!);
      await sleep(3 * pollMs);
      resubmits = double.calls((c) => c.tool === 'spark-submit').length - submitsBefore;
    }
    const maxLive = await probe.stop();
    if (maxLive > 1) process.stderr.write(`  ${label}: ${maxLive} live instances of "${probe.worst}"\n`);
    return {
      n,
      method: method === 'rest' ? `rest/${values.via}` : 'cli',
      workers: workers.length,
      listsPerMin: perMinute(lists),
      yarnCallsPerMin: perMinute(yarnCalls),
      edgeCpuPerMin: ((after.edge - before.edge) * 60_000) / elapsed,
      rssMiB: after.workers.reduce((s, a) => s + a.rssMiB, 0),
      cpuPercent: (workerCpu / (elapsed / 1000)) * 100,
      noticeP50: percentile(noticed, 50) / 1000,
      noticeP95: percentile(noticed, 95) / 1000,
      p50: percentile(latencies, 50) / 1000,
      p95: percentile(latencies, 95) / 1000,
      kills,
      startSeconds,
      takeoverSeconds: taken?.seconds ?? null,
      takenOver: taken?.apps ?? 0,
      resubmits,
      maxLive,
    };
  } finally {
    await probe.stop();
    await Promise.all(workers.map((w) => stopWorker(w, 'SIGTERM')));
    await close();
    await server.stop();
    await rest?.stop();
    await double.stop();
  }
}

async function main() {
  const sshd = new Sshd();
  await sshd.start();
  const rows: Row[] = [];
  try {
    for (const n of sizes) for (const method of methods) rows.push(await benchOne(sshd, n, method));
  } finally {
    await sshd.stop();
  }
  printTable(rows, {
    poll: values.poll,
    window: values.window,
    restPoll: values['rest-poll'] ?? '2s',
    double: values.double as 'server' | 'process',
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
