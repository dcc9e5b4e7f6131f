// The fault suite's harness (issue #9): "exactly one instance, whatever dies". Real parts only: a Temporal dev
// server persisted to a SQLite file (killed and restarted on the same port), an OpenSSH sshd on loopback as the
// edge node, `kappa worker` processes (the production worker, each in its own process group so SIGKILL takes it
// and its children), and the yarn/spark-submit double behind the sshd. A probe reads the double's state every
// second and counts the app's live instances and spark-submit calls; each fault below is injected into a running
// app and judged by what the probe saw. test/integration/faults.test.ts runs one test per fault; `npm run faults`
// (scripts/faults.ts) prints the table.
import { execFile, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { durationMs } from '../../src/common/duration.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { freePort, PortInUseError, startDevServer, type DevServer } from '../../src/temporal/dev-server.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import { appHandle, connectClient, queryStatus, tempDir, waitFor } from './harness.js';
import { Sshd } from './sshd.js';
import { YarnDouble } from './yarn-double.js';
import { spawnOwned } from './owned-spawn.js';

const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');
/** Every app's poll interval: short, so that a fault is noticed and lifted in seconds. */
export const POLL_INTERVAL = '2s';
const POLL_MS = durationMs(POLL_INTERVAL);
/** Kappa's cut-off for one `yarn` call (YarnCli's default commandTimeoutMs). */
export const YARN_CALL_CUTOFF_MS = 60_000;
const PROBE_EVERY_MS = 1_000;
/** How long Kappa has to be back to normal after a fault is lifted. */
const RECOVERY_TIMEOUT_MS = 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A `kappa worker` process in its own process group; its output goes to `log`. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  log: string;
  exited: Promise<void>;
  alive(): boolean;
}

/** Everything a fault runs against; one per test file (or script run), faults run one after another. */
export class FaultBed {
  readonly dir = tempDir('faults');
  readonly sshd = new Sshd();
  readonly double = new YarnDouble(join(this.dir, 'edge'));
  readonly dbFile = join(this.dir, 'temporal.sqlite');
  readonly workerConfigFile = join(this.dir, 'worker.yaml');
  readonly workers: WorkerProcess[] = [];
  client!: Client;
  private server: DevServer | undefined;
  private port = 0;
  private closeClient: () => Promise<void> = () => Promise.resolve();
  private started = 0;

  async start(): Promise<void> {
    await Promise.all([this.sshd.start(), this.startFirstServer()]);
    writeFileSync(
      this.workerConfigFile,
      stringify({
        temporal: { address: this.address },
        hosts: { 'edge-1': await this.sshd.hostConfig(this.double.yarn) },
        metrics: { port: 0 },
        shutdownGraceTime: '5s',
      }),
    );
    ({ client: this.client, close: this.closeClient } = await connectClient(this.server!));
  }

  async stop(): Promise<void> {
    for (const w of this.workers) killGroup(w.pid);
    await Promise.all(this.workers.map((w) => w.exited));
    await this.closeClient();
    await this.server?.stop();
    await this.sshd.stop();
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** The bed's port is the first one a server started on: a port taken meanwhile by another process is picked again. */
  private async startFirstServer(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freePort();
      try {
        return await this.startServer();
      } catch (err) {
        if (!(err instanceof PortInUseError) || attempt >= 3) throw err;
      }
    }
  }

  /** The dev server on the bed's port and SQLite file: what it had before a kill, it has again. */
  async startServer(): Promise<void> {
    this.server = await startDevServer({
      port: this.port,
      dbFile: this.dbFile,
      logFile: join(this.dir, 'temporal.log'),
      detached: true,
    });
  }

  /** SIGKILL to the dev server's process group: no shutdown, no flush. */
  async killServer(): Promise<void> {
    const server = this.server!;
    this.server = undefined;
    const exited = new Promise((r) => server.process.once('exit', r));
    if (server.process.exitCode === null && server.process.signalCode === null) {
      killGroup(server.process.pid!);
      await exited;
    }
  }

  /** Starts `kappa worker` processes until `count` are alive. */
  async ensureWorkers(count: number): Promise<void> {
    const missing = count - this.workers.filter((w) => w.alive()).length;
    await Promise.all(Array.from({ length: Math.max(0, missing) }, () => this.startWorker()));
  }

  async startWorker(): Promise<WorkerProcess> {
    const log = join(this.dir, `worker-${++this.started}.log`);
    const out = createWriteStream(log);
    const child = spawnOwned(KAPPA, ['--worker-config', this.workerConfigFile, 'worker'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let exitedNow = false;
    const exited = new Promise<void>((r) =>
      child.once('exit', () => {
        exitedNow = true;
        out.end();
        r();
      }),
    );
    const worker: WorkerProcess = { child, pid: child.pid!, log, exited, alive: () => !exitedNow };
    this.workers.push(worker);
    let head = '';
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out.write(d);
        if (head.length < 100_000) head += d.toString();
        if (head.includes('kappa worker: task queue')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      void exited.then(() => reject(new Error(`kappa worker exited before it was ready: ${head}`)));
    });
    await ready;
    return worker;
  }

  /** SIGKILL to a worker's process group. */
  async killWorker(worker: WorkerProcess): Promise<void> {
    killGroup(worker.pid);
    await worker.exited;
  }

  /** The worker process running the app's activity of that type now (from Temporal's pending activities). */
  async workerRunning(app: string, activityType: string): Promise<WorkerProcess> {
    return waitFor(`the worker running ${activityType} of ${app}`, async () => {
      const { raw } = await appHandle(this.client, app).describe();
      const identity = (raw.pendingActivities ?? []).find(
        (a) => a.activityType?.name === activityType && a.lastWorkerIdentity,
      )?.lastWorkerIdentity;
      return this.workers.find((w) => w.alive() && identity === `${w.pid}@${hostname()}`);
    });
  }

  /** spark-submit of another copy of `yarnName`, run by hand on the edge node; its YARN application id. */
  async submitByHand(yarnName: string): Promise<string> {
    const { command, env } = this.double.submitStep(yarnName);
    const [tool, ...args] = command;
    const { stderr } = await promisify(execFile)(tool!, args, { env: { ...process.env, ...env } });
    return /Submitted application (application_\d+_\d+)/.exec(stderr)![1]!;
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

/** What the probe saw at one moment. */
export interface Sample {
  at: number;
  /** Ids of the live (SUBMITTED/ACCEPTED/RUNNING) instances of the app's YARN name. */
  live: string[];
  /** spark-submit calls of the app's YARN name so far. */
  submits: number;
  /** When the latest `yarn application -list` (anyone's) started; 0 for none yet. */
  lastPollAt: number;
  /** The workflow's phase; null when the `status` query got no answer within the probe's second. */
  phase: string | null;
  yarnAppId: string | null;
}

/** Reads the double's state and the app's status every second until stopped. */
export class Probe {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly bed: FaultBed,
    private readonly app: string,
    private readonly yarnName: string,
  ) {
    this.loop = this.run();
  }

  async stop(): Promise<Sample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const at = Date.now();
      const status = queryStatus(this.bed.client, this.app).catch(() => undefined);
      const live = this.bed.double.live(this.yarnName).map((a) => a.id);
      const submits = this.bed.double.submits(this.yarnName).length;
      const lastPollAt = this.bed.double.listCalls().at(-1)?.at ?? 0;
      const answer = await Promise.race([status, sleep(PROBE_EVERY_MS * 0.9).then(() => undefined)]);
      this.samples.push({
        at,
        live,
        submits,
        lastPollAt,
        phase: answer?.phase ?? null,
        yarnAppId: answer?.yarnAppId ?? null,
      });
      await sleep(Math.max(0, at + PROBE_EVERY_MS - Date.now()));
    }
  }
}

/** What a fault did, in the table's terms, with what went against the expectations. */
export interface FaultResult {
  fault: string;
  /** Most live instances at any probe moment from the fault on (the hand-started extra included). */
  maxLive: number;
  /** spark-submit calls by Kappa from the fault on. */
  resubmissions: number;
  /** The phases seen while the fault lasted (until recovery for a kill), in order; `?` is no answer. */
  phaseDuring: string;
  phaseAfter: string;
  /**
   * From the end of the fault until Kappa was back to normal (a hand-started extra: from its start until Kappa
   * ended it); null: not within the recovery timeout.
   */
  recoverSeconds: number | null;
  appIdBefore: string | null;
  appIdAfter: string | null;
  /** Expectations not met; empty when the fault was survived. */
  problems: string[];
  samples: Sample[];
}

/** What a fault's injection gets to work with. */
export interface FaultContext {
  bed: FaultBed;
  app: string;
  yarnName: string;
  /** The app's YARN id before the fault (null when injected before it was Running). */
  appId: string | null;
  /** Ids of instances the fault started by hand (not Kappa's). */
  handStarted: string[];
}

export interface Fault {
  /** The row's label. */
  name: string;
  /** The Kappa app (and workflow) name. */
  app: string;
  /** kappa workers alive when the fault begins. */
  workers: number;
  /** When to inject: once the app is Running (default), or once spark-submit's app is live in YARN. */
  injectWhen?: 'running' | 'submitted';
  /** What the fault needs in place before the app is deployed. */
  setUp?(bed: FaultBed): void;
  /** Injects the fault; resolves when it is lifted (at once for a kill). */
  inject(ctx: FaultContext): Promise<void> | void;
  /** spark-submit calls Kappa is expected to make from the fault on (default 0). */
  resubmissions?: number;
  /** The phase Kappa must show while the fault lasts (its last answer before the fault is lifted). */
  phaseDuring?: string;
  /** The app's YARN id after recovery: the one from before (default) or a new one. */
  appId?: 'same' | 'new';
  /** A hand-started extra must be gone within this long (it is allowed to be the second live one till then). */
  extraGoneWithinMs?: number;
}

/**
 * "Back to normal": Running, exactly one live instance and it is the one supervised, and yarn polled since the
 * fault ended (a second later: a call logged then is no dead worker's).
 */
function recovered(ctx: FaultContext, fault: Fault, since: number, s: Sample): boolean {
  const polledSince = s.lastPollAt > since + 1_000;
  const idOk = fault.appId === 'new' ? s.yarnAppId !== ctx.appId : true;
  return (
    s.phase === 'Running' &&
    s.live.length === 1 &&
    s.live[0] === s.yarnAppId &&
    !ctx.handStarted.includes(s.yarnAppId) &&
    idOk &&
    polledSince
  );
}

/**
 * Runs one fault against a fresh app: deploys it, waits until it runs (or is being submitted), starts the probe,
 * injects the fault, waits for recovery, watches a few more poll intervals, stops the app, and judges.
 */
export async function runFault(bed: FaultBed, fault: Fault): Promise<FaultResult> {
  const { app } = fault;
  const yarnName = `Fault ${app}`;
  await bed.ensureWorkers(fault.workers);
  fault.setUp?.(bed);
  await deployApp(
    bed.client,
    TASK_QUEUE,
    bed.double.streamingApp(app, yarnName, { pollInterval: POLL_INTERVAL }),
  );
  const ready =
    fault.injectWhen === 'submitted'
      ? await waitFor('spark-submit to have its app accepted', () => bed.double.live(yarnName)[0]?.id, 60_000)
      : (
          await waitFor(
            `${app} Running`,
            async () => {
              const s = await queryStatus(bed.client, app);
              return s.phase === 'Running' && s.yarnAppId ? s : undefined;
            },
            90_000,
          )
        ).yarnAppId;
  const probe = new Probe(bed, app, yarnName);
  const ctx: FaultContext = { bed, app, yarnName, appId: ready, handStarted: [] };
  const submitsBefore = bed.double.submits(yarnName).length;
  let problems: string[] = [];
  let samples: Sample[] = [];
  let end = 0;
  let recoveredAt: Sample | undefined;
  try {
    const began = Date.now();
    await fault.inject(ctx);
    end = Date.now();
    recoveredAt = await waitFor(
      'recovery',
      () => probe.samples.find((s) => s.at >= end && recovered(ctx, fault, end, s)),
      RECOVERY_TIMEOUT_MS,
    ).catch(() => undefined);
    // A duplicate or a resubmission may come late: watch a few more polls.
    await sleep(3 * POLL_MS);
    samples = (await probe.stop()).filter((s) => s.at >= began);
    const resubmissions = bed.double.submits(yarnName).length - submitsBefore - ctx.handStarted.length;
    problems = judge(ctx, fault, samples, { end, recoveredAt, resubmissions });
    // An outage lasts until it is lifted; a kill, until Kappa is back (or the end of the watch).
    const until = end - began > PROBE_EVERY_MS ? end : (recoveredAt?.at ?? Infinity);
    const last = samples.at(-1);
    return {
      fault: fault.name,
      maxLive: Math.max(0, ...samples.map((s) => s.live.length)),
      resubmissions,
      phaseDuring: phases(samples.filter((s) => s.at <= until)),
      phaseAfter: last?.phase ?? '?',
      recoverSeconds: recoverSeconds(ctx, end, recoveredAt),
      appIdBefore: ctx.appId,
      appIdAfter: last?.yarnAppId ?? null,
      problems,
      samples,
    };
  } finally {
    if (samples.length === 0) await probe.stop();
    await bed.ensureWorkers(1); // someone has to stop the app
    await cleanUp(bed, app, yarnName);
  }
}

/** Until Kappa was back to normal; with a hand-started extra, from its start until Kappa had ended it (in YARN). */
function recoverSeconds(ctx: FaultContext, end: number, recoveredAt: Sample | undefined): number | null {
  if (!recoveredAt) return null;
  const extras = ctx.bed.double.apps().filter((a) => ctx.handStarted.includes(a.id));
  if (extras.length === 0) return Math.max(0, recoveredAt.at - end) / 1000;
  return extras.every((a) => a.finishTime > 0)
    ? Math.max(...extras.map((a) => a.finishTime - a.startTime)) / 1000
    : null;
}

/** The phases of the samples in order, repeats folded: `Running>Degraded>Running`. */
function phases(samples: Sample[]): string {
  const seq: string[] = [];
  for (const s of samples) {
    const phase = s.phase ?? '?';
    if (seq.at(-1) !== phase) seq.push(phase);
  }
  return seq.join('>') || '-';
}

function judge(
  ctx: FaultContext,
  fault: Fault,
  samples: Sample[],
  seen: { end: number; recoveredAt: Sample | undefined; resubmissions: number },
): string[] {
  const problems: string[] = [];
  const extraGone = fault.extraGoneWithinMs;
  for (const s of samples) {
    const kappas = s.live.filter((id) => !ctx.handStarted.includes(id));
    const allowed = extraGone !== undefined && s.at < seen.end + extraGone ? 2 : 1;
    if (s.live.length > allowed || kappas.length > 1) {
      problems.push(
        `${s.live.length} live instances at +${((s.at - samples[0]!.at) / 1000).toFixed(0)}s: ${s.live.join(', ')}`,
      );
      break;
    }
  }
  for (const id of ctx.handStarted) {
    const app = ctx.bed.double.apps().find((a) => a.id === id)!;
    const goneAfter = app.finishTime > 0 ? app.finishTime - app.startTime : undefined;
    if (goneAfter === undefined || goneAfter > extraGone!)
      problems.push(
        `the hand-started ${id} was ${goneAfter === undefined ? 'still live at the end' : `ended only after ${(goneAfter / 1000).toFixed(1)} s`} (expected within ${extraGone! / 1000} s)`,
      );
  }
  if (seen.resubmissions !== (fault.resubmissions ?? 0))
    problems.push(`${seen.resubmissions} resubmissions (expected ${fault.resubmissions ?? 0})`);
  if (fault.phaseDuring) {
    const answered = samples.filter((s) => s.at <= seen.end && s.phase !== null).at(-1);
    if (answered?.phase !== fault.phaseDuring)
      problems.push(
        `phase ${answered?.phase ?? 'unknown'} when the fault was lifted (expected ${fault.phaseDuring})`,
      );
  }
  if (!seen.recoveredAt) {
    const last = samples.at(-1);
    problems.push(
      `not back to normal within ${RECOVERY_TIMEOUT_MS / 1000} s (last: ${last?.phase ?? '?'}, yarnAppId ${last?.yarnAppId ?? '-'}, live ${last?.live.join(', ') || 'none'})`,
    );
  }
  const after = samples.at(-1);
  if (after?.phase !== 'Running')
    problems.push(`phase ${after?.phase ?? 'unknown'} after (expected Running)`);
  if ((fault.appId ?? 'same') === 'same' && ctx.appId && after?.yarnAppId !== ctx.appId)
    problems.push(`YARN app ${after?.yarnAppId ?? 'none'} after, ${ctx.appId} before (expected the same)`);
  return problems;
}

/** Stops the app (which kills its YARN instances); whatever is still live of the name after that goes too. */
async function cleanUp(bed: FaultBed, app: string, yarnName: string): Promise<void> {
  bed.double.setSubmitLinger(undefined);
  bed.double.setGarbageList(false);
  bed.double.setRmDown(false);
  const handle = appHandle(bed.client, app);
  try {
    await handle.signal(stopSignal, { reason: 'fault suite: next fault' });
    await Promise.race([handle.result(), sleep(60_000).then(() => Promise.reject(new Error('not stopped')))]);
  } catch {
    await handle.terminate('fault suite: not stopped in time').catch(() => undefined);
  }
  for (const live of bed.double.live(yarnName))
    bed.double.killFromOutside(live.id, 'KILLED', 'KILLED', 'fault suite clean-up');
}

/** The faults, in the order they run. */
export const FAULTS: Fault[] = [
  {
    name: 'worker SIGKILL during spark-submit',
    app: 'submit-kill',
    workers: 2,
    injectWhen: 'submitted',
    setUp: (bed) => bed.double.setSubmitLinger(30_000),
    async inject(ctx) {
      // spark-submit is still running (lingering), its app accepted by YARN.
      const worker = await ctx.bed.workerRunning(ctx.app, 'runStep');
      await ctx.bed.killWorker(worker);
      ctx.bed.double.setSubmitLinger(undefined);
    },
  },
  {
    name: 'worker SIGKILL during supervision (2 workers)',
    app: 'supervise-kill',
    workers: 2,
    async inject(ctx) {
      const worker = await ctx.bed.workerRunning(ctx.app, 'superviseApp');
      await ctx.bed.killWorker(worker);
    },
  },
  {
    name: 'Temporal server SIGKILL + restart',
    app: 'server-kill',
    workers: 2,
    async inject(ctx) {
      await ctx.bed.killServer();
      await sleep(POLL_MS);
      await ctx.bed.startServer();
    },
  },
  {
    name: `yarn hangs past the ${YARN_CALL_CUTOFF_MS / 1000}s cut-off (rm-hang)`,
    app: 'yarn-hang',
    workers: 2,
    phaseDuring: 'Degraded',
    async inject(ctx) {
      // Two cut-off polls in a row make the edge node unreachable for Kappa.
      ctx.bed.double.setRmDown(true, 'hang');
      await sleep(2 * YARN_CALL_CUTOFF_MS + 3 * POLL_MS);
      // The second cut-off lands only seconds before that on a quiet machine: on a loaded one, hang on (up to a
      // minute more) until Kappa has said Degraded, so the check judges the outcome, not the machine's speed.
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        const status = await queryStatus(ctx.bed.client, ctx.app).catch(() => undefined);
        if (status?.phase === 'Degraded') break;
        await sleep(1_000);
      }
      ctx.bed.double.setRmDown(false);
    },
  },
  {
    name: 'yarn -list prints garbage, exit 0',
    app: 'yarn-garbage',
    workers: 2,
    phaseDuring: 'Degraded',
    async inject(ctx) {
      ctx.bed.double.setGarbageList(true);
      await sleep(3 * POLL_MS);
      ctx.bed.double.setGarbageList(false);
    },
  },
  {
    name: 'edge node gone (sshd down) for 3 polls',
    app: 'edge-gone',
    workers: 2,
    phaseDuring: 'Degraded',
    async inject(ctx) {
      await ctx.bed.sshd.stop();
      await sleep(3 * POLL_MS);
      await ctx.bed.sshd.start();
    },
  },
  {
    name: 'extra instance started by hand',
    app: 'extra-copy',
    workers: 2,
    extraGoneWithinMs: POLL_MS + 2_000,
    async inject(ctx) {
      ctx.handStarted.push(await ctx.bed.submitByHand(ctx.yarnName));
    },
  },
  {
    name: 'app crash (2 workers): one resubmission',
    app: 'app-crash',
    workers: 2,
    resubmissions: 1,
    appId: 'new',
    inject: (ctx) => ctx.bed.double.killFromOutside(ctx.appId!),
  },
];

/** One line per fault, the columns aligned. */
export function formatTable(results: FaultResult[]): string {
  const rows = [
    ['fault', 'max live', 'resubmissions', 'phase during', 'phase after', 'recover s'],
    ...results.map((r) => [
      r.fault,
      String(r.maxLive),
      String(r.resubmissions),
      r.phaseDuring,
      r.phaseAfter,
      r.recoverSeconds === null ? '-' : r.recoverSeconds.toFixed(1),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ')).join('\n');
}
