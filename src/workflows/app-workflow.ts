// The app workflow: one per app (id `kappa/<name>`). Runs the steps, supervises the YARN application, and
// re-runs the steps under the restart policy. Deterministic code only: all I/O is in activities.
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  metricMeter,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { SearchAttributeType, SearchAttributeUpdatePair } from '@temporalio/common';
import type { KappaActivities } from '../activities/activities.js';
import type { YarnAppReport } from '../yarn/model.js';
import { durationMs } from '../common/duration.js';
import { FailureType, NON_RETRYABLE_FAILURES } from '../common/failures.js';
import { Phase } from '../common/phases.js';
import { decideAfterFailure, type RestartPolicyMs } from '../common/restart-policy.js';
import { stableJson } from '../common/stable-json.js';
import { SearchAttribute } from '../common/temporal-names.js';
import type { AppConfig } from '../config/app-config.js';
import { formatIssue } from '../config/issues.js';
import { validateAppConfig } from '../config/validate-app.js';
import {
  deployUpdate,
  restartSignal,
  statusQuery,
  stopSignal,
  type AppStatus,
  type AppWorkflowInput,
  type AttemptRecord,
  type CarriedState,
  type PendingRequest,
  type Resume,
} from './definitions.js';

// Replay-safe metrics (emitted only when the workflow code runs for real), exported on the worker's endpoint.
// Made on use: the meter belongs to the running workflow, not to module load.
const appUp = () =>
  metricMeter.createGauge('kappa_app_up', 'int', '', '1 while the app runs on YARN, else 0');
const restartsTotal = () =>
  metricMeter.createCounter('kappa_app_restarts_total', '', 'Automatic restarts of the app');

/** How many attempts `status` keeps; older ones are in the workflow history. */
const ATTEMPTS_KEPT = 10;
/** A dead worker is noticed after this long without a heartbeat; the activity then runs on another worker. */
const HEARTBEAT_TIMEOUT = '15s';

const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
};

function activities(options: ActivityOptions) {
  return proxyActivities<KappaActivities>({
    heartbeatTimeout: HEARTBEAT_TIMEOUT,
    // Wait for clean-up (pod deleted, remote process ended) before the workflow moves on.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry,
    ...options,
  });
}

type Outcome<T> = { kind: 'done'; value: T } | { kind: 'error'; error: unknown } | { kind: 'interrupted' };

type Next = Resume | { kind: 'finished' };

export async function appWorkflow(input: AppWorkflowInput): Promise<AppStatus> {
  return new AppRun(input).run();
}

class AppRun {
  private config: AppConfig;
  private revision: number;
  private phase: Phase = Phase.Starting;
  private step: string | null = null;
  private restarts: number;
  private totalRestarts: number;
  private yarnAppId: string | null = null;
  private lastHeartbeatAt: string | null;
  private lastError: string | null;
  private runningSince: number | undefined;
  private degradedSince: number | undefined;
  private attempts: AttemptRecord[];
  private pending: PendingRequest | undefined;
  private synced: Record<string, unknown> = {};

  constructor(private readonly input: AppWorkflowInput) {
    this.config = input.config;
    this.revision = input.revision ?? 1;
    const carried = input.carried;
    this.restarts = carried?.restarts ?? 0;
    this.totalRestarts = carried?.totalRestarts ?? 0;
    this.attempts = carried?.attempts ?? [];
    this.lastError = carried?.lastError ?? null;
    this.lastHeartbeatAt = carried?.lastHeartbeatAt ?? null;
    this.pending = carried?.pending;
  }

  async run(): Promise<AppStatus> {
    this.installHandlers();
    let next: Next = this.input.carried?.resume ?? {
      kind: 'start',
      from: this.firstStep(),
      reason: 'deployed',
    };
    if (next.kind === 'supervise') this.yarnAppId = next.appId;
    this.sync();
    try {
      for (;;) {
        if (this.pending) next = await this.handlePending(this.pending, next);
        if (next.kind === 'finished') return this.status();
        if (workflowInfo().continueAsNewSuggested) await this.continueAsNew(next);
        next = await this.advance(next);
      }
    } catch (err) {
      if (!isCancellation(err)) throw err;
      // A cancelled workflow (Temporal UI, `temporal workflow cancel`) is a stop: never orphan the app.
      await CancellationScope.nonCancellable(() =>
        this.stop({ kind: 'stop', leaveRunning: false, reason: 'cancelled' }),
      );
      throw err;
    }
  }

  private advance(next: Resume): Promise<Next> {
    switch (next.kind) {
      case 'start':
        return this.startAttempt(next.from, next.reason);
      case 'supervise':
        return this.supervise(next.appId, next.runningSince, next.degradedSince);
      case 'backoff':
        return this.backOff(next.until, next.from);
    }
  }

  // --- signals, update, query ---

  private installHandlers(): void {
    setHandler(stopSignal, (request) => {
      this.pending = {
        kind: 'stop',
        leaveRunning: request?.leaveRunning ?? false,
        reason: request?.reason ?? 'stop signal',
      };
    });
    setHandler(restartSignal, (request) => {
      if (this.pending?.kind === 'stop') return; // a stop wins over anything else
      this.pending = { kind: 'restart', reason: request?.reason ?? 'restart signal' };
    });
    setHandler(
      deployUpdate,
      (raw) => {
        const result = validateAppConfig(raw);
        if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
        const changed = stableJson(result.config) !== stableJson(this.config);
        if (changed) {
          this.config = result.config;
          this.revision += 1;
          if (this.pending?.kind !== 'stop') {
            this.pending = {
              kind: 'restart',
              reason: `deploy revision ${this.revision}`,
              from: this.firstStep(),
            };
          }
          this.sync();
        }
        return { revision: this.revision, changed };
      },
      {
        validator: (raw) => {
          const result = validateAppConfig(raw);
          if (!result.ok) throw new Error(result.issues.map(formatIssue).join('\n'));
          const { metadata, kind } = result.config;
          if (metadata.name !== this.config.metadata.name) {
            throw new Error(
              `metadata.name: this workflow runs "${this.config.metadata.name}", not "${metadata.name}"`,
            );
          }
          if (kind !== this.config.kind)
            throw new Error(`kind: this app is a ${this.config.kind}, not a ${kind}`);
          if (this.pending?.kind === 'stop' || this.phase === Phase.Stopping) {
            throw new Error('the app is stopping; deploy again once it has stopped');
          }
        },
      },
    );
    setHandler(statusQuery, () => this.status());
  }

  private status(): AppStatus {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    return {
      app: this.config.metadata.name,
      kind: this.config.kind,
      phase: this.phase,
      step: this.step,
      restarts: this.restarts,
      totalRestarts: this.totalRestarts,
      yarnAppId: this.yarnAppId,
      lastHeartbeatAt: this.lastHeartbeatAt,
      lastError: this.lastError,
      revision: this.revision,
      runningSince: iso(this.runningSince),
      degradedSince: iso(this.degradedSince),
      attempts: this.attempts,
    };
  }

  // --- the states ---

  private async startAttempt(from: string, reason: string): Promise<Next> {
    this.runningSince = undefined;
    this.degradedSince = undefined;
    this.yarnAppId = null;
    this.setPhase(Phase.Starting);
    const record: AttemptRecord = {
      attempt: (this.attempts.at(-1)?.attempt ?? 0) + 1,
      revision: this.revision,
      from,
      reason,
      startedAt: new Date().toISOString(),
    };
    this.attempts = [...this.attempts, record].slice(-ATTEMPTS_KEPT);

    const outcome = await this.interruptible(() => this.runSteps(from, record));
    this.step = null;
    if (outcome.kind === 'interrupted') {
      this.endAttempt(record, this.pending?.kind === 'stop' ? 'stopped' : 'restarted');
      return { kind: 'start', from, reason }; // replaced by the pending request
    }
    if (outcome.kind === 'error') return this.onFailure(outcome.error, record);
    this.yarnAppId = outcome.value.id;
    record.yarnAppId = outcome.value.id;
    this.endAttempt(record, record.outcome === 'adopted' ? 'adopted' : 'running');
    return { kind: 'supervise', appId: outcome.value.id, runningSince: Date.now() };
  }

  /** The existing-instance check, the steps from `from`, then the wait for the app to show up in YARN. */
  private async runSteps(from: string, record: AttemptRecord): Promise<YarnAppReport> {
    const { yarn } = this.config.spec;
    const ref = this.appRef();
    // Retried while the edge node is unreachable; past unreachableTimeout the attempt fails like any other.
    const existing = await activities({
      startToCloseTimeout: '2m',
      scheduleToCloseTimeout: durationMs(yarn.unreachableTimeout),
    }).findLiveApps(ref);
    this.heard();
    if (existing.length > 0) {
      const ids = existing.map((a) => a.id).join(', ');
      if (yarn.onExisting === 'fail') {
        throw ApplicationFailure.create({
          type: FailureType.ExistingInstance,
          nonRetryable: true,
          message: `"${yarn.appName}" is already live on ${yarn.host} (${ids}) and onExisting is fail`,
        });
      }
      if (yarn.onExisting === 'adopt') {
        const [adopted, ...extra] = existing;
        // Never two copies: an adopted app keeps running, any other instance of the name goes.
        for (const app of extra) await this.killApp(app.id);
        record.outcome = 'adopted';
        return adopted!;
      }
      await this.killApp();
    }

    let submittedId: string | undefined;
    const steps = this.config.spec.steps;
    for (const step of steps.slice(
      Math.max(
        0,
        steps.findIndex((s) => s.name === from),
      ),
    )) {
      this.step = step.name;
      const timeoutMs = durationMs((step.pod ?? step.ssh)!.timeout);
      const result = await activities({
        startToCloseTimeout: timeoutMs + 60_000,
        retry: { ...retry, maximumAttempts: 3 },
      }).runStep({ ...ref, revision: this.revision, attempt: record.attempt, step });
      this.heard();
      submittedId = result.yarnAppId ?? submittedId;
    }
    this.step = null;

    const appearTimeoutMs = durationMs(yarn.appearTimeout);
    const report = await activities({ startToCloseTimeout: appearTimeoutMs + 60_000 }).awaitApp({
      ...ref,
      appId: submittedId,
      timeoutMs: appearTimeoutMs,
      pollIntervalMs: Math.min(durationMs(yarn.pollInterval), 5_000),
    });
    this.heard();
    return report;
  }

  private async supervise(appId: string, runningSince: number, degradedSince?: number): Promise<Next> {
    const { yarn, restartPolicy } = this.config.spec;
    this.yarnAppId = appId;
    this.runningSince = runningSince;
    this.degradedSince = degradedSince;
    this.setPhase(degradedSince === undefined ? Phase.Running : Phase.Degraded);

    const pollMs = durationMs(yarn.pollInterval);
    const supervision = activities({
      startToCloseTimeout: '3650d',
      // Scaled with the poll interval: a worker that died is noticed within a few polls.
      heartbeatTimeout: Math.min(Math.max(3 * pollMs, 15_000), 120_000),
      // Nothing to clean up: a stop need not wait for the poller to hear of it.
      cancellationType: ActivityCancellationType.TRY_CANCEL,
    });
    const work = async (): Promise<YarnAppReport> => {
      // A stable app earns a fresh budget after resetAfter, visible in `status` as soon as it does.
      const resetTimer = new CancellationScope();
      const resetAt = runningSince + durationMs(restartPolicy.resetAfter);
      void resetTimer
        .run(async () => {
          if (this.restarts === 0) return;
          await sleep(Math.max(0, resetAt - Date.now()), { summary: 'resetAfter: restart budget resets' });
          this.restarts = 0;
          this.sync();
        })
        .catch(() => undefined);
      try {
        for (;;) {
          const outcome = await supervision.superviseApp({
            ...this.appRef(),
            kind: this.config.kind,
            appId,
            pollIntervalMs: pollMs,
            unreachableTimeoutMs: durationMs(yarn.unreachableTimeout),
            degradedSince: this.degradedSince,
          });
          this.heard();
          if (outcome.kind === 'ended') return outcome.report;
          if (outcome.kind === 'unreachable') {
            this.degradedSince = outcome.since;
            this.lastError = `edge node ${yarn.host} unreachable: ${outcome.error}`;
            this.setPhase(Phase.Degraded);
          } else {
            this.degradedSince = undefined;
            this.setPhase(Phase.Running);
          }
        }
      } finally {
        resetTimer.cancel();
      }
    };

    const outcome = await this.interruptible(work, () => workflowInfo().continueAsNewSuggested);
    if (outcome.kind === 'interrupted') {
      return { kind: 'supervise', appId, runningSince, degradedSince: this.degradedSince };
    }
    // The attempt that started this app ends with it.
    const attempt = this.attempts.at(-1);
    const record = attempt?.yarnAppId === appId ? attempt : undefined;
    if (outcome.kind === 'error') return this.onFailure(outcome.error, record);
    const report = outcome.value;
    if (
      this.config.kind === 'BatchJob' &&
      report.state === 'FINISHED' &&
      report.finalStatus === 'SUCCEEDED'
    ) {
      this.lastError = null;
      if (record) this.endAttempt(record, 'succeeded');
      this.setPhase(Phase.Succeeded);
      return { kind: 'finished' };
    }
    return this.onFailure(
      ApplicationFailure.create({
        type: FailureType.AppEnded,
        message: `YARN application ${report.id} ended ${report.state}/${report.finalStatus}${
          report.diagnostics ? `: ${report.diagnostics}` : ''
        }`,
      }),
      record,
    );
  }

  private async backOff(until: number, from: string): Promise<Next> {
    this.setPhase(Phase.BackingOff);
    const outcome = await this.interruptible(
      () =>
        sleep(Math.max(0, until - Date.now()), {
          summary: `backoff before restart ${this.restarts} of ${this.config.spec.restartPolicy.maxRestarts}`,
        }),
      () => workflowInfo().continueAsNewSuggested,
    );
    if (outcome.kind === 'interrupted') return { kind: 'backoff', until, from };
    return {
      kind: 'start',
      from,
      reason: `restart ${this.restarts} of ${this.config.spec.restartPolicy.maxRestarts}`,
    };
  }

  private async handlePending(request: PendingRequest, next: Next): Promise<Next> {
    this.pending = undefined;
    if (request.kind === 'stop') {
      await CancellationScope.nonCancellable(() => this.stop(request));
      return { kind: 'finished' };
    }
    // A manual restart or a new revision: take down the running instance first, then start over.
    const from = request.from ?? this.restartFrom();
    if (next.kind === 'supervise' || next.kind === 'start') {
      try {
        await CancellationScope.nonCancellable(() => this.killApp(this.yarnAppId ?? undefined));
      } catch (err) {
        return this.onFailure(err);
      }
    }
    return { kind: 'start', from, reason: request.reason };
  }

  private async stop(request: Extract<PendingRequest, { kind: 'stop' }>): Promise<void> {
    this.setPhase(Phase.Stopping);
    if (!request.leaveRunning) {
      try {
        await this.killApp(this.yarnAppId ?? undefined);
      } catch (err) {
        this.lastError = `stop (${request.reason}) could not kill the YARN application: ${describeFailure(err)}`;
        this.setPhase(Phase.Failed);
        throw ApplicationFailure.create({ type: FailureType.EdgeNodeUnreachable, message: this.lastError });
      }
    }
    const last = this.attempts.at(-1);
    if (last && !last.endedAt) this.endAttempt(last, 'stopped');
    this.setPhase(Phase.Stopped);
  }

  private onFailure(err: unknown, record?: AttemptRecord): Next {
    const message = describeFailure(err);
    this.lastError = message;
    if (record) this.endAttempt(record, 'failed', message);
    const decision = decideAfterFailure(
      this.restartPolicyMs(),
      { restarts: this.restarts, totalRestarts: this.totalRestarts },
      this.runningSince,
      Date.now(),
    );
    this.restarts = decision.budget.restarts;
    this.runningSince = undefined;
    this.yarnAppId = null;
    if (decision.kind === 'giveUp') {
      this.setPhase(Phase.Failed);
      const { maxRestarts } = this.config.spec.restartPolicy;
      throw ApplicationFailure.create({
        type: FailureType.RestartBudgetExhausted,
        nonRetryable: true,
        message: `${this.config.metadata.name}: gave up after ${maxRestarts} restart${maxRestarts === 1 ? '' : 's'}; last error: ${message}`,
      });
    }
    this.totalRestarts = decision.budget.totalRestarts;
    restartsTotal().add(1, { app: this.config.metadata.name });
    this.sync();
    return { kind: 'backoff', until: Date.now() + decision.delayMs, from: this.restartFrom() };
  }

  // --- helpers ---

  /**
   * Runs `work` until it ends, a stop/restart arrives, or `alsoWhen` holds. On interruption the work is cancelled
   * and awaited, so activities finish their clean-up before the workflow moves on.
   */
  private async interruptible<T>(
    work: () => Promise<T>,
    alsoWhen: () => boolean = () => false,
  ): Promise<Outcome<T>> {
    let outcome: Outcome<T> | undefined;
    const scope = new CancellationScope();
    const running = scope.run(work).then(
      (value) => {
        outcome ??= { kind: 'done', value };
      },
      (error: unknown) => {
        outcome ??= { kind: 'error', error };
      },
    );
    await condition(() => outcome !== undefined || this.pending !== undefined || alsoWhen());
    if (outcome !== undefined) return outcome;
    outcome = { kind: 'interrupted' };
    scope.cancel();
    await running;
    return outcome;
  }

  private async killApp(appId?: string): Promise<void> {
    const { unreachableTimeout } = this.config.spec.yarn;
    await activities({
      startToCloseTimeout: '3m',
      // Keep trying while the edge node might come back; past that, fail loudly rather than leave a copy running.
      scheduleToCloseTimeout: durationMs(unreachableTimeout) + 3 * 60_000,
    }).killApp({ ...this.appRef(), appId });
    this.heard();
  }

  private endAttempt(
    record: AttemptRecord,
    outcome: NonNullable<AttemptRecord['outcome']>,
    error?: string,
  ): void {
    record.endedAt = new Date().toISOString();
    record.outcome = outcome;
    if (error) record.error = error;
  }

  private async continueAsNew(next: Resume): Promise<never> {
    await condition(allHandlersFinished);
    const carried: CarriedState = {
      resume: next,
      pending: this.pending,
      restarts: this.restarts,
      totalRestarts: this.totalRestarts,
      attempts: this.attempts,
      lastError: this.lastError,
      lastHeartbeatAt: this.lastHeartbeatAt,
    };
    return continueAsNew<typeof appWorkflow>({ config: this.config, revision: this.revision, carried });
  }

  private appRef() {
    const { yarn } = this.config.spec;
    return { app: this.config.metadata.name, host: yarn.host, appName: yarn.appName };
  }

  private firstStep(): string {
    return this.config.spec.steps[0]!.name;
  }

  private restartFrom(): string {
    return this.config.spec.restartPolicy.from ?? this.firstStep();
  }

  private restartPolicyMs(): RestartPolicyMs {
    const policy = this.config.spec.restartPolicy;
    return {
      maxRestarts: policy.maxRestarts,
      resetAfterMs: durationMs(policy.resetAfter),
      backoff: {
        initialMs: durationMs(policy.backoff.initial),
        factor: policy.backoff.factor,
        maxMs: durationMs(policy.backoff.max),
      },
    };
  }

  private heard(): void {
    this.lastHeartbeatAt = new Date().toISOString();
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    appUp().set(phase === Phase.Running ? 1 : 0, { app: this.config.metadata.name });
    this.sync();
  }

  /** Keeps the search attributes current, upserting only what changed (each upsert is a history event). */
  private sync(): void {
    const wanted = {
      KappaApp: this.config.metadata.name,
      KappaKind: this.config.kind,
      KappaPhase: this.phase,
      KappaRestarts: this.restarts,
      KappaYarnAppId: this.yarnAppId,
    };
    const updates: SearchAttributeUpdatePair[] = [];
    const add = (key: { name: string; type: SearchAttributeType }, value: unknown) => {
      if (this.synced[key.name] === value) return;
      updates.push({ key, value } as SearchAttributeUpdatePair);
      this.synced[key.name] = value;
    };
    add(SearchAttribute.KappaApp, wanted.KappaApp);
    add(SearchAttribute.KappaKind, wanted.KappaKind);
    add(SearchAttribute.KappaPhase, wanted.KappaPhase);
    add(SearchAttribute.KappaRestarts, wanted.KappaRestarts);
    add(SearchAttribute.KappaYarnAppId, wanted.KappaYarnAppId);
    if (updates.length > 0) upsertSearchAttributes(updates);
  }
}

/** The message chain of a failure, outermost first, without Temporal's wrapper noise. */
function describeFailure(err: unknown): string {
  const messages: string[] = [];
  let current: unknown = err;
  // Duck-typed: failures are rebuilt inside the sandbox, so `instanceof` is not to be trusted.
  while (typeof current === 'object' && current !== null && 'message' in current) {
    const { name, message, cause } = current as { name?: unknown; message?: unknown; cause?: unknown };
    const isWrapper = name === 'ActivityFailure' || name === 'ChildWorkflowFailure';
    if (!isWrapper && typeof message === 'string' && message && !messages.includes(message))
      messages.push(message);
    current = cause;
  }
  return messages.join(': ') || String(err);
}
