// Installs the yarn/spark-submit double (yarn-double.cjs) in a directory and lets tests read and change its
// state the way the outside world would (an app killed by someone else, a ResourceManager going down). The apps
// are yarn-model.cjs's, read and changed through the same model the double uses. With `{ server: true }` (for the
// benchmark) one server process (yarn-double-server.cjs, between start() and stop()) answers every call instead.
import type { ChildProcessByStdio } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { AppConfig } from '../../src/config/app-config.js';
import { formatIssue } from '../../src/config/issues.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { wrapperScript } from './yarn-double-server.cjs';
import * as model from './yarn-model.cjs';
import { spawnOwned } from './owned-spawn.js';

const DOUBLE = join(__dirname, 'yarn-double.cjs');
const SERVER = join(__dirname, 'yarn-double-server.cjs');

export type DoubleApp = model.ModelApp;

/**
 * How the yarn client meets a ResourceManager it cannot reach (marker files the double looks for):
 * - `down`: the double's long-standing answer, exit 255 after a one-line ConnectException. Not what Hadoop 3.4
 *   prints; kept because a test asserts it.
 * - `fast-fail`: as with a fast-fail client config: ~10 s of retries, a Java stack trace on stderr, exit 1.
 * - `hang`: as with the default client config: retries for up to 15 minutes; the double waits until killed or
 *   until the outage ends, then answers.
 */
export type RmOutage = 'down' | 'fast-fail' | 'hang';

export interface DoubleCall {
  at: number;
  tool: string;
  args: string[];
}

export interface YarnDoubleOptions {
  /**
   * One long-lived server answers every call (a few ms of CPU each instead of a node start-up, ~0.1 CPU-s), from
   * start() to stop(). The calls the double answers by waiting (the rm-hang and rm-fast-fail markers, rm-down for
   * spark-submit, submit-linger, spark-submit waiting for its app) are refused, exit 2. For the benchmark.
   */
  server?: boolean;
}

type ServerProcess = ChildProcessByStdio<Writable, Readable, Readable>;

export class YarnDouble {
  readonly stateDir: string;
  readonly yarn: string;
  readonly sparkSubmit: string;
  /** The server mode's UNIX socket. */
  readonly socket: string;
  private server: ServerProcess | undefined;

  constructor(
    readonly dir: string,
    readonly options: YarnDoubleOptions = {},
  ) {
    this.stateDir = join(dir, 'state');
    this.socket = join(dir, 'double.sock');
    mkdirSync(this.stateDir, { recursive: true });
    mkdirSync(join(dir, 'bin'), { recursive: true });
    this.yarn = join(dir, 'bin', 'yarn');
    this.sparkSubmit = join(dir, 'bin', 'spark-submit');
    for (const [file, tool] of [
      [this.yarn, 'yarn'],
      [this.sparkSubmit, 'spark-submit'],
    ] as const) {
      writeFileSync(
        file,
        options.server
          ? wrapperScript(tool, this.socket)
          : `#!/bin/sh\nYARN_DOUBLE_STATE='${this.stateDir}' exec '${process.execPath}' '${DOUBLE}' ${tool} "$@"\n`,
      );
      chmodSync(file, 0o755);
    }
    if (!existsSync(join(this.stateDir, 'calls.log'))) appendFileSync(join(this.stateDir, 'calls.log'), '');
  }

  /** Server mode: starts the server and resolves once it listens (nothing to do for the per-process double). */
  async start(): Promise<void> {
    if (!this.options.server || this.server) return;
    // Its stdin is this process's pipe: the server ends with this process, however that ends.
    const child = spawnOwned(process.execPath, [SERVER, this.stateDir, this.socket], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.server = child;
    let output = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
        if (output.includes('listening\n')) resolve();
      });
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      child.once('exit', (code, signal) =>
        reject(new Error(`yarn double server exited (${code ?? signal}): ${output}`)),
      );
    });
  }

  /** Stops the server, if one runs; the wrappers then fail (exit 2) until start() again. */
  async stop(): Promise<void> {
    const child = this.server;
    this.server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }

  /** The server's pid (its CPU is the edge node's: it is not under the edge node's sshd). */
  get serverPid(): number | undefined {
    return this.server?.pid;
  }

  /** An ssh step submitting `appName` in cluster mode with waitAppCompletion=false, as Kappa's examples do. */
  submitStep(appName: string, host = 'edge-1') {
    return {
      host,
      command: [
        this.sparkSubmit,
        ...['--master', 'yarn', '--deploy-mode', 'cluster', '--name', appName],
        ...[
          '--conf',
          'spark.yarn.submit.waitAppCompletion=false',
          '--class',
          'com.example.Main',
          '/apps/app.jar',
        ],
      ],
      env: { HADOOP_CONF_DIR: '/etc/hadoop/conf' },
      timeout: '2m',
    };
  }

  /**
   * A StreamingApp `name` supervised on `host` whose one step (submitStep) submits `appName`: quick to notice
   * and restart (1 s backoff), patient with an edge node that is away (10 min).
   */
  streamingApp(
    name: string,
    appName: string,
    { pollInterval = '500ms', maxRestarts = 3, host = 'edge-1' } = {},
  ): AppConfig {
    const result = validateAppConfig({
      apiVersion: 'kappa/v1',
      kind: 'StreamingApp',
      metadata: { name },
      spec: {
        yarn: { host, appName, pollInterval, unreachableTimeout: '10m', appearTimeout: '30s' },
        restartPolicy: { maxRestarts, backoff: { initial: '1s', factor: 2, max: '5s' } },
        steps: [{ name: 'submit', ssh: this.submitStep(appName, host) }],
      },
    });
    if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
    return result.config;
  }

  /** Every app, as the double would report them now. */
  apps(): DoubleApp[] {
    return model.apps(this.stateDir);
  }

  /** Live apps of that name (RUNNING/ACCEPTED/SUBMITTED as the double would report them now). */
  live(name: string): DoubleApp[] {
    return this.apps().filter((a) => a.name === name && model.isLive(a.state));
  }

  calls(filter?: (c: DoubleCall) => boolean): DoubleCall[] {
    const calls = readFileSync(join(this.stateDir, 'calls.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DoubleCall);
    return filter ? calls.filter(filter) : calls;
  }

  listCalls(since = 0): DoubleCall[] {
    return this.calls((c) => c.tool === 'yarn' && c.args[1] === '-list' && c.at >= since);
  }

  submits(name: string): DoubleCall[] {
    return this.calls((c) => c.tool === 'spark-submit' && c.args.includes(name));
  }

  /** An app dies on its own or is killed by someone else. */
  killFromOutside(
    id: string,
    state = 'FAILED',
    finalStatus = 'FAILED',
    diagnostics = 'User class threw exception: java.lang.RuntimeException: boom',
  ) {
    model.end(this.stateDir, id, { state, finalStatus, diagnostics });
  }

  /** An app somebody submitted by hand, RUNNING. */
  addRunning(name: string): string {
    return model.submit(this.stateDir, { name, state: 'RUNNING', user: 'ops' }).id;
  }

  /** `yarn application -list` prints something that is not a list, and exits 0 (until turned off). */
  setGarbageList(on: boolean): void {
    this.mark('garbage-list', on ? '' : undefined);
  }

  /** spark-submit stays `ms` after YARN accepted the app (undefined: exits right away, as it normally does). */
  setSubmitLinger(ms: number | undefined): void {
    this.mark('submit-linger', ms === undefined ? undefined : String(ms));
  }

  private mark(marker: string, content: string | undefined): void {
    if (content === undefined) rmSync(join(this.stateDir, marker), { force: true });
    else writeFileSync(join(this.stateDir, marker), content);
  }

  /** Takes the ResourceManager away (`how` the client meets that) or brings it back (every outage ends). */
  setRmDown(down: boolean, how: RmOutage = 'down'): void {
    for (const outage of ['down', 'fast-fail', 'hang'] as const)
      this.mark(`rm-${outage}`, down && outage === how ? '' : undefined);
  }
}
