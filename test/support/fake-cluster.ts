/**
 * Test executors for the foundation tests: a stand-in for a YARN ResourceManager (reached in production through
 * `yarn application` over SSH) and for the step runners (pods, ssh commands). State lives in a directory so a
 * worker in another process (the SIGKILL test) and the test itself see the same cluster.
 *
 * The apps are yarn-model.cjs's (ids, states, the live set, ACCEPTED -> RUNNING, kill semantics, the state
 * file and its lock): the same model as behind the yarn CLI double. At the YarnGateway port this class answers
 * what the production gateway returns: live apps from `-list`, a report (undefined for an unknown id) from
 * `-status`, a kill that is no error for an app that already ended or that YARN does not know; an unreachable
 * edge node makes every call fail with YarnUnavailableError. Steps are tiny scripts in an ssh step's argv:
 *   [submit, AppName]          submit an app and print its id (as spark-submit does)
 *   [submit-quietly, AppName]  submit without printing the id (the workflow must find it by name)
 *   [submit-unlisted, AppName, 2s]  submit and print the id, the app left out of lists for that long (as a list
 *                              answered by a ResourceManager that lags behind the submit would)
 *   [sleep, 2s]                take a while
 *   [block, marker]            wait until the test calls release(marker)
 *   [submit-and-block, AppName, marker]  submit quietly, then wait like block
 *   [fail, 3]                  exit with code 3
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import * as model from './yarn-model.cjs';
import type {
  KappaDeps,
  LiveSnapshot,
  LiveWaitOptions,
  StepContext,
  StepRunner,
  YarnGateway,
} from '../../src/ports.js';
import { YarnUnavailableError, type YarnAppReport } from '../../src/yarn/model.js';
import { durationMs } from '../../src/common/duration.js';
import { FailureType } from '../../src/common/failures.js';
import type { PodStep, SshStep } from '../../src/config/app-config.js';

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
  }

  // --- YarnGateway ---

  listLive(host: string, _maxAgeMs?: number): Promise<YarnAppReport[]> {
    this.checkReachable(host);
    this.record({ type: 'list' });
    return Promise.resolve(
      model
        .apps(this.dir)
        .filter((a) => model.isLive(a.state) && !this.unlisted(a.id))
        .map(({ id, name, state, finalStatus }) => ({ id, name, state, finalStatus })),
    );
  }

  /**
   * Polls on the interval, one call per waiting supervision (the production gateway shares them), passing over
   * the polls `quiet` says need not be told; once `signal` aborts, it stops polling and never answers.
   */
  async nextLive(
    host: string,
    intervalMs: number,
    after: number,
    { quiet, signal }: LiveWaitOptions = {},
  ): Promise<LiveSnapshot> {
    for (;;) {
      await new Promise((r) => setTimeout(r, Math.max(0, after + intervalMs - Date.now())));
      if (signal?.aborted) return new Promise<never>(() => undefined);
      const startedAt = Math.max(Date.now(), after + 1);
      let snapshot: LiveSnapshot;
      try {
        snapshot = { startedAt, apps: await this.listLive(host) };
      } catch (err) {
        snapshot = { startedAt, error: (err as Error).message };
      }
      if (!quiet?.(snapshot)) return snapshot;
      after = startedAt;
    }
  }

  status(host: string, appId: string): Promise<YarnAppReport | undefined> {
    this.checkReachable(host);
    const app = model.apps(this.dir).find((a) => a.id === appId);
    if (!app) return Promise.resolve(undefined);
    const { id, name, state, finalStatus, diagnostics } = app;
    return Promise.resolve({ id, name, state, finalStatus, ...(diagnostics ? { diagnostics } : {}) });
  }

  kill(host: string, appId: string): Promise<void> {
    this.checkReachable(host);
    model.kill(this.dir, appId); // an app that already ended, or an unknown id: nothing to kill, not an error
    this.record({ type: 'kill', appId });
    return Promise.resolve();
  }

  // --- what tests do to the cluster ---

  submit(name: string, state = 'RUNNING'): string {
    const { id } = model.submit(this.dir, { name, state });
    this.record({ type: 'submit', appId: id, app: name });
    return id;
  }

  /** The app dies as if killed by someone else (or crashed): it leaves the live states. */
  killFromOutside(
    appId: string,
    state = model.KILLED_BY_USER.state,
    finalStatus = model.KILLED_BY_USER.finalStatus,
    diagnostics = model.KILLED_BY_USER.diagnostics,
  ) {
    model.end(this.dir, appId, { state, finalStatus, diagnostics });
  }

  apps(): model.ModelApp[] {
    return model.apps(this.dir);
  }

  live(name: string): model.ModelApp[] {
    return this.apps().filter((a) => a.name === name && model.isLive(a.state));
  }

  /** A full queue: apps stay ACCEPTED (their AM never starts) until there is room again. */
  setQueueFull(full: boolean): void {
    model.setQueueFull(this.dir, full);
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
        // spark-submit leaves its app ACCEPTED (RUNNING once its ApplicationMaster registers, or never while the
        // queue is full).
        case 'submit':
          yarnAppId = this.submit(arg, 'ACCEPTED');
          break;
        case 'submit-unlisted':
          yarnAppId = this.submit(arg, 'ACCEPTED');
          writeFileSync(
            join(this.dir, `unlisted-${yarnAppId}`),
            String(Date.now() + durationMs(argv[2] ?? '1s')),
          );
          break;
        case 'submit-quietly':
          this.submit(arg, 'ACCEPTED');
          break;
        case 'sleep':
          await abortableWait(ctx.signal, () => false, durationMs(arg));
          break;
        case 'block':
          await abortableWait(ctx.signal, () => existsSync(join(this.dir, `release-${arg}`)));
          break;
        case 'submit-and-block':
          // spark-submit whose app YARN has accepted, still running (e.g. waiting on a slow upload's end).
          this.submit(arg, 'ACCEPTED');
          await abortableWait(ctx.signal, () => existsSync(join(this.dir, `release-${argv[2] ?? ''}`)));
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

  /** Whether a `submit-unlisted` app is still left out of lists. */
  private unlisted(appId: string): boolean {
    const file = join(this.dir, `unlisted-${appId}`);
    return existsSync(file) && Date.now() < Number(readFileSync(file, 'utf8'));
  }

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
