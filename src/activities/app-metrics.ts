// The app's gauges, emitted by its supervision activity on every poll. The workflow is idle between events, so a
// gauge it set is gone once its worker restarts; the supervision runs on a worker all the time the app is
// supervised, so it puts them back within a poll. Each worker exports its own series: a supervision that ends
// leaves its gauges at neutral values (0), so `max by (app)` over workers is the supervising worker's view.
import { Context } from '@temporalio/activity';
import type { MetricGauge, MetricMeter } from '@temporalio/common';
import { Metric } from '../common/metric-names.js';
import { Phase } from '../common/phases.js';
import { appById } from '../yarn/app-index.js';
import type { LiveSnapshot } from '../ports.js';
import { statusQuery } from '../workflows/definitions.js';
import type { SuperviseInput } from './types.js';

/**
 * The neutral values wait this long after a supervision ends: the workflow calls the next supervision of the same
 * app at once (after an ACCEPTED/RUNNING or reachability change), and `up` should not blink to 0 in between.
 */
const NEUTRAL_AFTER_MS = 5_000;

/** The supervision of each app that owns its gauges in this worker (keyed by namespace and app). */
const owners = new Map<string, SupervisionMetrics>();

/** The gauges one supervision activity keeps for its app (see the README's metrics table). */
export class SupervisionMetrics {
  private readonly key: string;
  private readonly tags: { app: string };
  private readonly up: MetricGauge;
  private readonly supervised: MetricGauge;
  private readonly lastRunning: MetricGauge;
  private readonly lastEnded: MetricGauge;
  private readonly degradedSince: MetricGauge;
  private readonly restartsUsed: MetricGauge;
  private readonly restartsAllowed: MetricGauge;
  private neutralTimer: NodeJS.Timeout | undefined;
  /** The latest poll found the app gone (one end recorded per disappearance). */
  private endSeen = false;
  /** What this supervision last set `up` and restarts-used to. */
  private upShown: number | undefined;
  private usedShown: number | undefined;
  /** The poll time `lastRunning` was last set to (epoch ms). */
  private runningShownAt = -Infinity;

  constructor(
    meter: MetricMeter,
    namespace: string,
    private readonly input: SuperviseInput,
    /** Whether the app's workflow is stopping it (phase Stopping or Stopped). */
    private readonly stopping: () => Promise<boolean> = () => Promise.resolve(false),
  ) {
    this.key = `${namespace}/${input.app}`;
    this.tags = { app: input.app };
    const gauge = (name: string, type: 'int' | 'float', unit: string, help: string) =>
      meter.createGauge(name, type, unit, help);
    this.up = gauge(Metric.appUp, 'int', '', '1 while YARN says the supervised app is RUNNING, else 0');
    this.supervised = gauge(Metric.appSupervised, 'int', '', '1 while this worker supervises the app');
    this.lastRunning = gauge(Metric.appLastRunning, 'float', 's', 'Last poll that saw the app RUNNING');
    this.lastEnded = gauge(
      Metric.appLastEnded,
      'float',
      's',
      'Last poll that found the app gone from the live states (a StreamingApp that died or was killed)',
    );
    this.degradedSince = gauge(
      Metric.appDegradedSince,
      'float',
      's',
      "Since when the app's edge node does not answer (Degraded); 0 when it does",
    );
    this.restartsUsed = gauge(
      Metric.restartsUsed,
      'int',
      '',
      'Automatic restarts counted against maxRestarts',
    );
    this.restartsAllowed = gauge(Metric.restartsAllowed, 'int', '', 'maxRestarts of the app');
    owners.get(this.key)?.handOver();
    owners.set(this.key, this);
    this.start();
  }

  /** One poll of the app's host: up while YARN lists it RUNNING; gone from the live states: it ended. */
  polled(snapshot: LiveSnapshot): void {
    // A supervision the workflow has left may poll on until it hears so; the newer one speaks for the app.
    if (owners.get(this.key) !== this) return;
    this.refreshBudget();
    if (!('apps' in snapshot)) return; // a failed poll says nothing of the app; Degraded says it (`start`)
    const own = appById(snapshot.apps, this.input.appId);
    const seconds = snapshot.startedAt / 1000;
    const running = own?.state === 'RUNNING';
    // The time moves on at the app's poll interval, not at every poll of its host (a REST host polls every 2 s
    // for a thousand apps); a return to RUNNING shows at once.
    if (
      running &&
      (this.upShown !== 1 || snapshot.startedAt - this.runningShownAt >= this.input.pollIntervalMs)
    ) {
      this.runningShownAt = snapshot.startedAt;
      this.lastRunning.set(seconds, this.tags);
    }
    this.setUp(running ? 1 : 0);
    if (own) this.endSeen = false;
    // A BatchJob that ends has done its work, or its restart policy decides: only a StreamingApp is "down".
    else if (this.input.kind === 'StreamingApp' && !this.endSeen) {
      this.endSeen = true;
      void this.recordEnd(seconds);
    }
  }

  /**
   * An end Kappa caused by a stop is no outage: the stop kills the app before this supervision hears it is
   * cancelled (maybe on another worker), so the workflow says whether it is stopping.
   */
  private async recordEnd(seconds: number): Promise<void> {
    const stopping = await this.stopping().catch(() => false);
    if (!stopping) this.lastEnded.set(seconds, this.tags);
  }

  /** The supervision is over: neutral values soon, unless the next supervision of the app takes over first. */
  close(): void {
    if (owners.get(this.key) !== this) return;
    this.neutralTimer = setTimeout(() => {
      if (owners.get(this.key) !== this) return;
      owners.delete(this.key);
      this.neutral();
    }, NEUTRAL_AFTER_MS);
    this.neutralTimer.unref();
  }

  private start(): void {
    this.supervised.set(1, this.tags);
    const since = this.input.degradedSince;
    this.degradedSince.set(since === undefined ? 0 : since / 1000, this.hostTags());
    // While the edge node does not answer, nobody knows whether the app runs.
    if (since !== undefined) this.setUp(0);
    const budget = this.input.restartBudget;
    if (budget) this.restartsAllowed.set(budget.allowed, this.tags);
    this.refreshBudget();
  }

  /** The budget resets `resetAfter` into a run without the workflow calling again: counted from `resetsAt`. */
  private refreshBudget(): void {
    const budget = this.input.restartBudget;
    if (!budget) return;
    const reset = budget.resetsAt !== undefined && Date.now() >= budget.resetsAt;
    const used = reset ? 0 : budget.used;
    if (used === this.usedShown) return; // a thousand apps each poll: only changes go to the metrics
    this.usedShown = used;
    this.restartsUsed.set(used, this.tags);
  }

  private setUp(value: number): void {
    if (value === this.upShown) return;
    this.upShown = value;
    this.up.set(value, this.tags);
  }

  private hostTags() {
    return { ...this.tags, host: this.input.host };
  }

  /** A newer supervision of the app in this worker owns the gauges now (its values are the ones to keep). */
  private handOver(): void {
    clearTimeout(this.neutralTimer);
    // Only the series this one alone wrote: the edge node may have changed with a deploy.
    this.degradedSince.set(0, this.hostTags());
  }

  private neutral(): void {
    this.setUp(0);
    this.supervised.set(0, this.tags);
    this.degradedSince.set(0, this.hostTags());
    this.usedShown = 0;
    this.restartsUsed.set(0, this.tags);
    this.restartsAllowed.set(0, this.tags);
  }
}

/** The metrics of the supervision activity running now (its meter carries namespace, task queue, activity type). */
export function supervisionMetrics(input: SuperviseInput): SupervisionMetrics {
  const ctx = Context.current();
  const execution = ctx.info.workflowExecution;
  const stopping = async () => {
    if (!execution) return false;
    const handle = ctx.client.workflow.getHandle(execution.workflowId, execution.runId);
    const { phase } = await handle.query(statusQuery);
    return phase === Phase.Stopping || phase === Phase.Stopped;
  };
  return new SupervisionMetrics(ctx.metricMeter, ctx.info.namespace, input, stopping);
}
