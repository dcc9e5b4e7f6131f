// The bed of the real YARN end-to-end tests (issue #11 item 1; test/integration/yarn-real-e2e*.test.ts, one bed
// per file): a real single-node YARN (LocalYarn), a Temporal dev server, an OpenSSH sshd on loopback as the edge
// node whose `yarn` and `spark-submit` are LocalYarn's wrappers, and `kappa worker` processes (the production
// worker, killable). Four host entries name the same sshd:
// `edge-1` with the fast-fail yarn client, `edge-1-default` with Hadoop's default one (it retries a down
// ResourceManager for 15 minutes) cut off by `yarnTimeout: 10s`, and two that read YARN through the
// ResourceManager's REST API (`yarnApi: rest`; kills still on the fast-fail yarn CLI): `edge-1-rest` with curl on the
// edge node, `edge-1-tunnel` over a connection forwarded by sshd. Every app submits over `edge-1`.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { deployApp, type DeployReport } from '../../src/cli/commands/deploy.js';
import { TERMINAL_PHASES } from '../../src/common/phases.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { formatIssue } from '../../src/config/issues.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { LocalYarn, type ClientVariant, type LocalYarnApp } from '../../src/sandbox/local-yarn.js';
import type { DevServer } from '../../src/temporal/dev-server.js';
import type { AppStatus } from '../../src/workflows/definitions.js';
import { connectClient, queryStatus, startServer, tempDir, waitFor } from './harness.js';
import { KAPPA, runKappa, type Ran } from './kappa-cli.js';
import { Sshd } from './sshd.js';
import { spawnOwned } from './owned-spawn.js';
/** YARN states in which an application holds containers or waits for them. */
const LIVE_STATES = ['NEW', 'NEW_SAVING', 'SUBMITTED', 'ACCEPTED', 'RUNNING'];

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export type EdgeHost = 'edge-1' | 'edge-1-default' | 'edge-1-rest' | 'edge-1-tunnel';

export interface KappaWorker {
  pid: number;
  /** Its worker identity in Temporal (the SDK's default, `pid@host`). */
  identity: string;
  output(): string;
  exited: Promise<void>;
  /** SIGKILL to its process group: no shutdown, its SSH sessions just drop. */
  kill(): Promise<void>;
}

export interface AppOptions {
  kind?: 'StreamingApp' | 'BatchJob';
  /** The edge node supervising the app (the submit always runs on edge-1). */
  host?: EdgeHost;
  /** RateApp's flags (`--seconds N`, `--fail`, `--batch`). */
  appArgs?: string[];
  conf?: Record<string, string>;
  maxRestarts?: number;
  /**
   * Default 5s: each poll is a `yarn` JVM (~1 CPU-second) per host, and on two cores that also start the Spark JVMs
   * a 1–2 s interval costs more wall time than it saves. Up to 5 s keeps a supervision's heartbeat timeout at its
   * 15 s floor (a dead worker's supervision moves on after 15 s).
   */
  pollInterval?: string;
  /** A jar in place of RateApp's (one that does not exist). */
  jar?: string;
}

export class RealYarnBed {
  // Room for five small apps at once (each a 1024 MB AM + a 1024 MB executor): a file runs up to five together.
  readonly yarn = new LocalYarn({ nodeManagerMemoryMb: 10240 });
  readonly sshd = new Sshd();
  readonly dir = tempDir('yarn-e2e');
  readonly workerConfigFile = join(this.dir, 'worker.yaml');
  private readonly workers: KappaWorker[] = [];
  /** The worker started last. */
  worker: KappaWorker | undefined;
  private server: DevServer | undefined;
  private connection: { client: Client; close: () => Promise<void> } | undefined;
  // The test runner ends a file that runs past --test-timeout with SIGTERM, and no `after` hook runs then: what the
  // bed started goes with the process (LocalYarn's own exit hook ends its JVMs).
  private readonly onTerm = () => {
    this.killNow();
    process.exit(143);
  };

  /** A bed for the calling test file: started, with one worker, before its tests; stopped after them however they end. */
  static forThisFile(): RealYarnBed {
    const bed = new RealYarnBed();
    before(
      async () => {
        await bed.start();
        await bed.startWorker();
      },
      { timeout: 30 * 60_000 },
    );
    after(() => bed.stop(), { timeout: 120_000 });
    return bed;
  }

  get client(): Client {
    if (!this.connection) throw new Error('the bed is not started');
    return this.connection.client;
  }

  async start(): Promise<void> {
    process.once('SIGTERM', this.onTerm);
    // All three settle before anything is judged: stop() must not race a YARN that is still starting.
    const [server, ...rest] = await Promise.allSettled([startServer(), this.yarn.start(), this.sshd.start()]);
    if (server.status === 'fulfilled') this.server = server.value;
    for (const r of [server, ...rest]) if (r.status === 'rejected') throw r.reason;
    const host = (variant: ClientVariant) => this.sshd.hostConfig(join(this.yarn.binDir(variant), 'yarn'));
    const viaRest = async (via: 'curl' | 'tunnel') => ({
      ...(await host('fast')),
      yarnApi: 'rest',
      yarnRest: { resourceManagers: [this.yarn.webUrl], via },
    });
    writeFileSync(
      this.workerConfigFile,
      stringify({
        temporal: { address: this.server!.address },
        hosts: {
          'edge-1': await host('fast'),
          'edge-1-default': { ...(await host('default')), yarnTimeout: '10s' },
          'edge-1-rest': await viaRest('curl'),
          'edge-1-tunnel': await viaRest('tunnel'),
        },
        metrics: { port: 0 },
        shutdownGraceTime: '1s',
      }),
    );
    this.connection = await connectClient(this.server!);
  }

  /** Ends the workers, then YARN (every Spark JVM with it), Temporal and sshd, even when one of them fails. */
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.kill()));
    await this.connection?.close();
    const results = await Promise.allSettled([this.yarn.stop(), this.server?.stop(), this.sshd.stop()]);
    process.removeListener('SIGTERM', this.onTerm);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  /** SIGKILL, synchronously, to the workers' process groups, the dev server and sshd. */
  private killNow(): void {
    const targets: (() => number | undefined)[] = [
      ...this.workers.map((w) => () => -w.pid),
      () => this.server?.process.pid,
      () => Number(readFileSync(join(this.sshd.dir, 'sshd.pid'), 'utf8')), // sshd's PidFile
    ];
    for (const target of targets) {
      try {
        const pid = target();
        if (pid) process.kill(pid, 'SIGKILL');
      } catch {
        // gone already, or never started
      }
    }
  }

  /** A `kappa worker` process on the bed's worker config, once it says it is polling its task queue. */
  async startWorker(): Promise<KappaWorker> {
    const child: ChildProcess = spawnOwned(KAPPA, ['--worker-config', this.workerConfigFile, 'worker'], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = child.pid!;
    const worker: KappaWorker = {
      pid,
      identity: `${pid}@${hostname()}`,
      output: () => output,
      exited,
      kill: async () => {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone already
        }
        await exited;
      },
    };
    this.workers.push(worker);
    this.worker = worker;
    await Promise.race([
      // A worker's start (tsx, the workflow bundle, connecting) can take a minute or more on a busy machine.
      waitFor('the kappa worker up', () => output.includes('kappa worker: task queue'), 180_000),
      exited.then(() => {
        throw new Error(`kappa worker exited before it was ready: ${output}`);
      }),
    ]);
    return worker;
  }

  /** Runs the `kappa` CLI on the bed's worker config; a non-zero exit is returned, not thrown. */
  kappa(args: string[]): Promise<Ran> {
    return runKappa(['--worker-config', this.workerConfigFile, ...args], {
      env: { ...process.env, CI: 'true' },
    });
  }

  status(app: string): Promise<AppStatus> {
    return queryStatus(this.client, app);
  }

  /**
   * Waits until the app's status satisfies `predicate`; a timeout names `what` and the last status. Asks once a
   * second: every query is a workflow task on the worker, and several apps wait at once on two busy cores.
   */
  async waitFor(
    app: string,
    what: string,
    predicate: (s: AppStatus) => boolean,
    timeoutMs = 240_000,
  ): Promise<AppStatus> {
    let last: AppStatus | undefined;
    const check = async () => {
      last = await this.status(app);
      if (predicate(last)) return last;
      await sleep(1_000);
      return undefined;
    };
    return waitFor(`${app} ${what}`, check, timeoutMs).catch((err: Error) => {
      throw new Error(`${err.message}; its last status: ${JSON.stringify(last)}`);
    });
  }

  /** Waits until the app is Stopped, Failed or Succeeded. */
  ended(app: string): Promise<AppStatus> {
    return this.waitFor(app, 'ended', (s) => TERMINAL_PHASES.includes(s.phase), 300_000);
  }

  /** The YARN name of app `name`. */
  yarnName(name: string): string {
    return `Kappa E2E ${name}`;
  }

  /**
   * App `name` as its YAML would say it: one ssh step on edge-1 that spark-submits RateApp (cluster mode, not
   * waiting for the app), polled every 5 s unless told, restarted after 1 s.
   */
  appYaml(name: string, options: AppOptions = {}): Record<string, unknown> {
    const appName = this.yarnName(name);
    const args = this.yarn.streamingSubmitArgs(appName, options.appArgs, options.conf);
    const jar = options.jar;
    return {
      apiVersion: 'kappa/v1',
      kind: options.kind ?? 'StreamingApp',
      metadata: { name },
      spec: {
        yarn: {
          host: options.host ?? 'edge-1',
          appName,
          pollInterval: options.pollInterval ?? '5s',
          appearTimeout: '60s',
        },
        restartPolicy: {
          maxRestarts: options.maxRestarts ?? 3,
          backoff: { initial: '1s', factor: 2, max: '5s' },
        },
        steps: [
          {
            name: 'submit',
            ssh: {
              host: 'edge-1',
              command: [
                join(this.yarn.binDir('fast'), 'spark-submit'),
                ...(jar ? args.map((a) => (a === this.yarn.streamingAppJar ? jar : a)) : args),
              ],
              timeout: '5m',
            },
          },
        ],
      },
    };
  }

  /** The app's YAML written to a file, for `kappa deploy`. */
  appFile(name: string, options: AppOptions = {}): string {
    const file = join(this.dir, `${name}.yaml`);
    writeFileSync(file, stringify(this.appYaml(name, options)));
    return file;
  }

  /** Deploys app `name` as `kappa deploy` does (starts its workflow directly, a BatchJob too). */
  deploy(name: string, options: AppOptions = {}): Promise<DeployReport> {
    const result = validateAppConfig(this.appYaml(name, options));
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
    const config: AppConfig = result.config;
    return deployApp(this.client, TASK_QUEUE, config);
  }

  /** Every application of app `name` YARN knows (each a submit), oldest first; REST, so the RM must be up. */
  async submitted(name: string): Promise<LocalYarnApp[]> {
    const apps = (await this.yarn.apps()).filter((a) => a.name === this.yarnName(name));
    return apps.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  }

  /** Each app's YARN application ids (one per submit): for "nothing was submitted again". */
  submits(names: string[]): Promise<string[][]> {
    return Promise.all(names.map(async (name) => (await this.submitted(name)).map((a) => a.id)));
  }

  /** The live ones among them. */
  async live(name: string): Promise<LocalYarnApp[]> {
    return (await this.submitted(name)).filter((a) => LIVE_STATES.includes(a.state));
  }

  /** Waits until YARN reports application `id` in `state`. */
  reaches(id: string, state: string, timeoutMs = 180_000): Promise<LocalYarnApp> {
    return waitFor(
      `${id} ${state} in YARN`,
      async () => {
        const app = (await this.yarn.apps()).find((a) => a.id === id);
        if (app?.state === state) return app;
        await sleep(1_000);
        return undefined;
      },
      timeoutMs,
    );
  }
}

/**
 * Runs `action` while calling `probe` every `everyMs` (one call at a time); its result and every probe's. The
 * probing ends with the action, however that ends.
 */
export async function sampleWhile<T, R>(
  probe: () => Promise<T>,
  action: () => Promise<R>,
  everyMs = 1_000,
): Promise<{ result: R; samples: T[] }> {
  const samples: T[] = [];
  let running = true;
  const probing = (async () => {
    while (running) {
      samples.push(await probe());
      await sleep(everyMs);
    }
  })();
  try {
    const result = await action();
    running = false;
    await probing;
    return { result, samples };
  } finally {
    running = false;
    await probing.catch(() => undefined);
  }
}
