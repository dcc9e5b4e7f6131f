/**
 * Test executors for the foundation tests: a stand-in for a YARN ResourceManager (reached in production through
 * `yarn application` over SSH) and for the step runners (pods, ssh commands). State lives in a directory so a
 * worker in another process (the SIGKILL test) and the test itself see the same cluster.
 *
 * It behaves like YARN where the workflow can tell: apps move SUBMITTED -> RUNNING -> FINISHED/FAILED/KILLED,
 * ids look like `application_<clusterTimestamp>_<seq>`, only SUBMITTED/ACCEPTED/RUNNING apps are listed, `status`
 * knows every id it ever issued, killing a finished app is not an error, and an unreachable edge node makes every
 * call fail with YarnUnavailableError. Steps are tiny scripts in an ssh step's argv:
 *   [submit, AppName]          submit an app and print its id (as spark-submit does)
 *   [submit-quietly, AppName]  submit without printing the id (the workflow must find it by name)
 *   [sleep, 2s]                take a while
 *   [block, marker]            wait until the test calls release(marker)
 *   [fail, 3]                  exit with code 3
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { withDirLock } from './dir-lock.js';
import type { KappaDeps, LiveSnapshot, StepContext, StepRunner, YarnGateway } from '../../src/ports.js';
import { isLive, YarnUnavailableError, type YarnAppReport } from '../../src/yarn/model.js';
import { durationMs } from '../../src/common/duration.js';
import { FailureType } from '../../src/common/failures.js';
import type { PodStep, SshStep } from '../../src/config/app-config.js';

interface ClusterState {
  clusterTimestamp: number;
  nextSeq: number;
  apps: YarnAppReport[];
}

export interface ClusterEvent {
  type: 'step-start' | 'step-end' | 'step-cancelled' | 'submit' | 'kill' | 'list';
  app?: string;
  step?: string;
  attempt?: number;
  appId?: string;
  pid: number;
  at: number;
}

export class FakeCluster implements YarnGateway {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    if (!existsSync(this.statePath)) {
      this.write({ clusterTimestamp: 1700000000000, nextSeq: 1, apps: [] });
    }
  }

  private get statePath() {
    return join(this.dir, 'state.json');
  }

  // --- YarnGateway ---

  listLive(host: string, _maxAgeMs?: number): Promise<YarnAppReport[]> {
    this.checkReachable(host);
    this.record({ type: 'list' });
    return Promise.resolve(this.read().apps.filter((a) => isLive(a.state)));
  }

  /** Polls on the interval, one call per waiting supervision (the production gateway shares them). */
  async nextLive(host: string, intervalMs: number, after: number): Promise<LiveSnapshot> {
    await new Promise((r) => setTimeout(r, Math.max(0, after + intervalMs - Date.now())));
    const startedAt = Math.max(Date.now(), after + 1);
    try {
      return { startedAt, apps: await this.listLive(host) };
    } catch (err) {
      return { startedAt, error: (err as Error).message };
    }
  }

  status(host: string, appId: string): Promise<YarnAppReport | undefined> {
    this.checkReachable(host);
    return Promise.resolve(this.read().apps.find((a) => a.id === appId));
  }

  kill(host: string, appId: string): Promise<void> {
    this.checkReachable(host);
    this.update((s) => {
      const app = s.apps.find((a) => a.id === appId);
      if (app && isLive(app.state)) {
        Object.assign(app, {
          state: 'KILLED',
          finalStatus: 'KILLED',
          diagnostics: 'Application killed by user.',
        });
      }
    });
    this.record({ type: 'kill', appId });
    return Promise.resolve();
  }

  // --- what tests do to the cluster ---

  submit(name: string, state = 'RUNNING'): string {
    let id = '';
    this.update((s) => {
      id = `application_${s.clusterTimestamp}_${String(s.nextSeq++).padStart(4, '0')}`;
      s.apps.push({ id, name, state, finalStatus: 'UNDEFINED' });
    });
    this.record({ type: 'submit', appId: id, app: name });
    return id;
  }

  /** The app dies as if killed by someone else (or crashed): it leaves the live states. */
  killFromOutside(
    appId: string,
    state = 'KILLED',
    finalStatus = 'KILLED',
    diagnostics = 'Application killed by user.',
  ) {
    this.update((s) => {
      const app = s.apps.find((a) => a.id === appId);
      if (!app) throw new Error(`no app ${appId}`);
      Object.assign(app, { state, finalStatus, diagnostics });
    });
  }

  apps(): YarnAppReport[] {
    return this.read().apps;
  }

  live(name: string): YarnAppReport[] {
    return this.apps().filter((a) => a.name === name && isLive(a.state));
  }

  release(marker: string): void {
    writeFileSync(join(this.dir, `release-${marker}`), '');
  }

  /** Makes one edge node (host) unreachable, like a stopped sshd. */
  setReachable(host: string, reachable: boolean): void {
    const flag = join(this.dir, `unreachable-${host}`);
    if (reachable) rmIfExists(flag);
    else writeFileSync(flag, '');
  }

  events(): ClusterEvent[] {
    const path = join(this.dir, 'events.jsonl');
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ClusterEvent);
  }

  stepRuns(app: string, step: string, type: ClusterEvent['type'] = 'step-start'): ClusterEvent[] {
    return this.events().filter((e) => e.type === type && e.app === app && e.step === step);
  }

  // --- step runners ---

  deps(): KappaDeps {
    const sshRunner: StepRunner<SshStep> = { run: (step, ctx) => this.runScript(step.command ?? [], ctx) };
    const podRunner: StepRunner<PodStep> = { run: (step, ctx) => this.runScript(step.args ?? [], ctx) };
    return { steps: { ssh: sshRunner, pod: podRunner }, yarn: this, heartbeatIntervalMs: 500 };
  }

  private async runScript(argv: string[], ctx: StepContext) {
    const [verb, arg = ''] = argv;
    this.record({ type: 'step-start', app: ctx.app, step: ctx.stepName, attempt: ctx.attempt });
    try {
      let yarnAppId: string | undefined;
      switch (verb) {
        case 'submit':
          yarnAppId = this.submit(arg);
          break;
        case 'submit-quietly':
          this.submit(arg);
          break;
        case 'sleep':
          await abortableWait(ctx.signal, () => false, durationMs(arg));
          break;
        case 'block':
          await abortableWait(ctx.signal, () => existsSync(join(this.dir, `release-${arg}`)));
          break;
        case 'fail':
          throw ApplicationFailure.create({
            type: FailureType.StepFailed,
            nonRetryable: true,
            message: `step "${ctx.stepName}" exited with code ${arg}`,
            details: [{ exitCode: Number(arg) }],
          });
        default:
          throw new Error(`fake cluster: unknown step script ${JSON.stringify(argv)}`);
      }
      this.record({
        type: 'step-end',
        app: ctx.app,
        step: ctx.stepName,
        attempt: ctx.attempt,
        appId: yarnAppId,
      });
      const outputTail = yarnAppId
        ? `INFO Client: Submitting application ${yarnAppId} to ResourceManager`
        : '';
      return yarnAppId ? { yarnAppId, outputTail } : { outputTail };
    } catch (err) {
      if (ctx.signal.aborted)
        this.record({ type: 'step-cancelled', app: ctx.app, step: ctx.stepName, attempt: ctx.attempt });
      throw err;
    }
  }

  // --- plumbing ---

  private checkReachable(host: string) {
    if (existsSync(join(this.dir, `unreachable-${host}`))) {
      throw new YarnUnavailableError(`ssh: connect to host ${host} port 22: Connection refused`);
    }
  }

  private record(event: Omit<ClusterEvent, 'pid' | 'at'>) {
    appendFileSync(
      join(this.dir, 'events.jsonl'),
      JSON.stringify({ ...event, pid: process.pid, at: Date.now() }) + '\n',
    );
  }

  private read(): ClusterState {
    return JSON.parse(readFileSync(this.statePath, 'utf8')) as ClusterState;
  }

  private write(state: ClusterState) {
    const tmp = `${this.statePath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state));
    renameSync(tmp, this.statePath);
  }

  /** Read-modify-write under a lock directory: the worker and the test may both change the state. */
  private update(change: (state: ClusterState) => void) {
    withDirLock(this.dir, 'fake cluster', () => {
      const state = this.read();
      change(state);
      this.write(state);
    });
  }
}

function rmIfExists(path: string) {
  try {
    renameSync(path, `${path}.gone`);
  } catch {
    // not there
  }
}

function abortableWait(signal: AbortSignal, done: () => boolean, maxMs = Infinity): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = setInterval(() => {
      if (done() || Date.now() - started >= maxMs) finish();
    }, 50);
    const onAbort = () => {
      clearInterval(tick);
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const finish = () => {
      clearInterval(tick);
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
