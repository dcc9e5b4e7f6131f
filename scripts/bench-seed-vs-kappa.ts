// Benchmark on the real tier (`npm run bench:seed [-- --n 1,5,20 --window 60s --kills 5]`): the seed's supervision
// against Kappa's, side by side, on the same edge node and the same apps. Real parts: a single-node YARN (LocalYarn)
// running N RateApp streaming apps (512m driver, one 512m executor), the real `yarn` CLI, OpenSSH sshd on loopback
// as the edge node, a Temporal dev server, a `kappa worker` process. For each N, with every app RUNNING:
//   - the seed: one SSH session per app running its loop (scripts/bench/seed-loops.ts), every 10 s;
//   - Kappa: one worker supervising the same apps (adopted, pollInterval 10s);
// both at once for the same window, each through its own sshd (same host, same `yarn`) so the edge-node CPU of
// each is the CPU of its sshd's process tree, and its own counting `yarn` wrapper (scripts/bench/edge-meter.ts):
// yarn JVM starts per minute, their CPU, and the whole edge-node CPU per minute. Then Kappa's detection latency:
// apps killed with `yarn application -kill`, timed until Kappa noticed, until its resubmitted app is in YARN, and
// until Kappa shows the new id RUNNING. Prints one table.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { deployApp } from '../src/cli/commands/deploy.js';
import { durationMs } from '../src/common/duration.js';
import { TASK_QUEUE, workflowId } from '../src/common/temporal-names.js';
import { validateAppConfig } from '../src/config/validate-app.js';
import { LocalYarn } from '../src/sandbox/local-yarn.js';
import { statusQuery } from '../src/workflows/definitions.js';
import { connectClient, startServer, tempDir, waitFor } from '../test/support/harness.js';
import { Sshd } from '../test/support/sshd.js';
import {
  CLK_TCK,
  percentile,
  readCalls,
  rssMiB,
  treeCpuSeconds,
  writeCountingYarn,
} from './bench/edge-meter.js';
import { printTable, type Row, type Side } from './bench/report.js';
import { SeedLoops } from './bench/seed-loops.js';

const { values } = parseArgs({
  options: {
    // 20 do not fit on two cores: each app's two JVMs take ~0.15-0.25 of a core and ~0.7 GiB (C1, below).
    n: { type: 'string', default: '1,5,10' },
    window: { type: 'string', default: '60s' },
    kills: { type: 'string', default: '5' },
  },
});
const sizes = values.n.split(',').map(Number);
const windowMs = durationMs(values.window);
const maxKills = Number(values.kills);
const POLL = '10s';
// The apps: RateApp, 512m driver and one 512m executor (the local YARN's defaults), their JVMs C1-only with the
// serial GC: a third of the CPU of Spark's defaults, which would take a core for every two apps on this machine.
const APP_JVM = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
const conf = { 'spark.driver.extraJavaOptions': APP_JVM, 'spark.executor.extraJavaOptions': APP_JVM };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
// Names the seed's grep cannot confuse (BenchApp01 is no prefix of another).
const appName = (i: number) => `BenchApp${String(i + 1).padStart(2, '0')}`;
const kappaName = (i: number) => `bench-app-${String(i + 1).padStart(2, '0')}`;

const sshdPid = (sshd: Sshd) => Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());

function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function main(): Promise<void> {
  const started = Date.now();
  const maxN = Math.max(...sizes);
  // Two 1 GB containers per app (the AM with the driver, the executor), and room for resubmitted apps.
  const yarn = new LocalYarn({ nodeManagerMemoryMb: (maxN + 2) * 2048 });
  const [seedSshd, kappaSshd] = [new Sshd(), new Sshd()];
  const [server] = await Promise.all([startServer(), yarn.start(), seedSshd.start(), kappaSshd.start()]);
  const dir = tempDir('bench-seed');
  const real = join(yarn.binDir('fast'), 'yarn');
  const wrapper = (who: string) => {
    const d = join(dir, who);
    mkdirSync(d);
    return { dir: writeCountingYarn(d, real, join(dir, `${who}.log`)), log: join(dir, `${who}.log`) };
  };
  const seedYarn = wrapper('seed');
  const kappaYarn = wrapper('kappa');
  const workerConfig = join(dir, 'worker.yaml');
  writeFileSync(
    workerConfig,
    stringify({
      temporal: { address: server.address },
      hosts: { edge: await kappaSshd.hostConfig(join(kappaYarn.dir, 'yarn')) },
      metrics: { port: 0 },
      shutdownGraceTime: '1s',
    }),
  );
  const worker = spawn(join(__dirname, '..', 'bin', 'kappa'), ['--worker-config', workerConfig, 'worker'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let workerErr = '';
  worker.stderr.on('data', (d: Buffer) => (workerErr = (workerErr + d.toString()).slice(-20_000)));
  const { client, close } = await connectClient(server);
  const seed = new SeedLoops(await seedSshd.hostConfig(join(seedYarn.dir, 'yarn')));
  const rows: Row[] = [];
  const live = async () =>
    (await yarn.apps()).filter((a) => ['SUBMITTED', 'ACCEPTED', 'RUNNING'].includes(a.state));
  const status = (i: number) => client.workflow.getHandle(workflowId(kappaName(i))).query(statusQuery);
  // CPU seconds so far: each edge node's sshd tree, the Kappa worker, the cluster (RM, NodeManager, Spark JVMs).
  const sample = () => ({
    seed: treeCpuSeconds(sshdPid(seedSshd)),
    kappa: treeCpuSeconds(sshdPid(kappaSshd)),
    worker: cpuSecondsOf(worker.pid!),
    cluster: treeCpuSeconds(yarn.pid!),
  });
  // Ctrl-C or a timeout's SIGTERM: no async clean-up runs then; LocalYarn's exit hook ends the cluster.
  const onSignal = () => {
    for (const pid of [worker.pid, server.process.pid, sshdPid(seedSshd), sshdPid(kappaSshd)]) {
      try {
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    process.exit(130);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await waitFor('the worker', () => workerErr.includes('kappa worker: task queue'), 180_000);
    let have = 0;
    for (const n of sizes) {
      // The apps, submitted as the seed's submit step would (not measured), two at a time on two cores; a C1-only
      // client JVM submits in a third of the time (Kappa's resubmissions run over SSH, with the plain one).
      process.env.SPARK_SUBMIT_OPTS = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC';
      for (let i = have; i < n; i += 2) {
        await Promise.all(
          [i, i + 1]
            .filter((k) => k < n)
            .map(async (k) => {
              const r = await yarn.sparkSubmit(yarn.streamingSubmitArgs(appName(k), [], conf));
              if (r.code !== 0) throw new Error(`spark-submit ${appName(k)}: ${r.stderr.slice(-2000)}`);
            }),
        );
      }
      await waitFor(
        `${n} apps RUNNING`,
        async () => {
          const apps = await live();
          const running = Array.from({ length: n }, (_, i) =>
            apps.some((a) => a.name === appName(i) && a.state === 'RUNNING'),
          );
          return running.every(Boolean) || (await sleep(2_000), undefined);
        },
        15 * 60_000,
      );
      // Kappa adopts them (onExisting: adopt): nothing is submitted again.
      for (let i = have; i < n; i++) await deployApp(client, TASK_QUEUE, benchApp(yarn, i));
      await waitFor(
        `Kappa: ${n} apps Running`,
        async () => {
          const all = await Promise.all(
            Array.from({ length: n }, (_, i) => status(i).catch(() => undefined)),
          );
          return all.every((s) => s?.phase === 'Running') || (await sleep(2_000), undefined);
        },
        10 * 60_000,
      );
      have = n;
      log(`N=${n}: all RUNNING and supervised by Kappa after ${Math.round((Date.now() - started) / 1000)} s`);

      seed.start(
        Array.from({ length: n }, (_, i) => appName(i)),
        seedYarn.dir,
      );
      await sleep(12_000); // every loop past its first call
      const t0 = Date.now();
      const cpu0 = sample();
      await sleep(windowMs);
      const t1 = Date.now();
      const cpu1 = sample();
      const appsRssGiB = rssMiB(yarn.pids()) / 1024;
      const load = loadavg()[0] ?? 0;
      await sleep(15_000); // calls started in the window finish and log themselves
      if (seed.ended > 0) log(`N=${n}: ${seed.ended} seed loops ended during the window`);
      await seed.stop();
      const perMin = (x: number) => (x * 60_000) / (t1 - t0);
      const side = (file: string, edge: number): Side => {
        const calls = readCalls(file).filter((c) => c.start >= t0 && c.start < t1);
        return {
          callSeconds: percentile(
            calls.map((c) => (c.end - c.start) / 1000),
            50,
          ),
          jvmsPerMin: perMin(calls.length),
          jvmCpuPerMin: perMin(calls.reduce((s, c) => s + c.cpuSeconds, 0)),
          edgeCpuPerMin: perMin(edge),
        };
      };
      const latency = await killAndTime(n);
      rows.push({
        n,
        seed: side(seedYarn.log, cpu1.seed - cpu0.seed),
        kappa: side(kappaYarn.log, cpu1.kappa - cpu0.kappa),
        workerCpuPerMin: perMin(cpu1.worker - cpu0.worker),
        clusterCpuPerMin: perMin(cpu1.cluster - cpu0.cluster),
        ...latency,
        appsRssGiB,
        load,
      });
      log(`N=${n}: done after ${Math.round((Date.now() - started) / 1000)} s`);
    }
  } finally {
    await seed.stop();
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await close();
    await Promise.allSettled([yarn.stop(), server.stop(), seedSshd.stop(), kappaSshd.stop()]);
  }
  printTable(rows, { poll: POLL, window: values.window, seconds: Math.round((Date.now() - started) / 1000) });

  /** Kills up to `maxKills` apps, 3 s apart, and times Kappa on each (seconds from the kill's return). */
  async function killAndTime(n: number) {
    const victims = Array.from({ length: Math.min(n, maxKills) }, (_, k) =>
      Math.floor((k * n) / Math.min(n, maxKills)),
    );
    const results = await Promise.all(
      victims.map(async (i, k) => {
        await sleep(k * 3_000);
        const before = (await status(i)).yarnAppId;
        if (!before) throw new Error(`${kappaName(i)} has no app`);
        const kill = await yarn.kill(before);
        if (kill.code !== 0) throw new Error(`yarn -kill ${before}: ${kill.stderr.slice(-500)}`);
        const at = Date.now();
        let detect: number | undefined;
        let resubmit: number | undefined;
        return waitFor(
          `${kappaName(i)} back`,
          async () => {
            const s = await status(i);
            const since = (Date.now() - at) / 1000;
            if (detect === undefined && (s.phase !== 'Running' || s.yarnAppId !== before)) detect = since;
            if (
              resubmit === undefined &&
              (await live()).some((a) => a.name === appName(i) && a.id !== before)
            )
              resubmit = since;
            if (s.phase === 'Running' && s.yarnAppId && s.yarnAppId !== before)
              return { detect: detect ?? since, resubmit: resubmit ?? since, back: since };
            await sleep(500);
            return undefined;
          },
          5 * 60_000,
        );
      }),
    );
    return {
      detect: results.map((r) => r.detect),
      resubmit: results.map((r) => r.resubmit),
      back: results.map((r) => r.back),
    };
  }
}

/** App `i` for Kappa: the same YARN app the seed watches; a restart submits it over the edge node. */
function benchApp(yarn: LocalYarn, i: number) {
  const submit = [
    join(yarn.binDir('fast'), 'spark-submit'),
    ...yarn.streamingSubmitArgs(appName(i), [], conf),
  ];
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: kappaName(i) },
    spec: {
      yarn: { host: 'edge', appName: appName(i), pollInterval: POLL, onExisting: 'adopt' },
      restartPolicy: { maxRestarts: 100, backoff: { initial: '1s', factor: 1, max: '1s' } },
      steps: [{ name: 'submit', ssh: { host: 'edge', command: submit, timeout: '5m' } }],
    },
  });
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.config;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
