// One host's shared poll of its live YARN applications, whichever way it reads them (the `yarn` CLI or the
// ResourceManager's REST API): however many apps a worker supervises on a host, one poll per interval.
import type { LiveSnapshot } from '../ports.js';
import { YarnUnavailableError, type YarnAppReport } from './model.js';

/** One poll: when it started, and the live apps or why there are none to tell. */
export interface Snapshot {
  startedAt: number;
  apps?: YarnAppReport[];
  error?: YarnUnavailableError;
}

export interface HostPollerOptions {
  /**
   * The longest time between scheduled polls while anyone waits, whatever the waiters ask (a REST host's
   * `yarnRest.pollInterval`: its polls are cheap, so supervisions learn sooner).
   */
  maxIntervalMs?: number;
  /**
   * The least time between the starts of two polls asked for fresh (existence checks): a deploy of many apps asks
   * for fresh lists without pause, and one list every half second answers all of them (default 500 ms).
   */
  freshSpacingMs?: number;
}

const FRESH_SPACING_MS = 500;

/**
 * Shares list calls on one host. Supervisions wait for the next scheduled poll (one per
 * interval however many apps wait); other callers take a recent enough result or join the next fresh call.
 */
export class HostPoller {
  private last: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private next: Promise<Snapshot> | undefined;
  private waiters: { after: number; intervalMs: number; resolve: (snap: Snapshot) => void }[] = [];
  /** The shortest interval among the waiters (kept as they come and go: a thousand wait at once). */
  private shortestMs = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly list: () => Promise<YarnAppReport[]>,
    private readonly options: HostPollerOptions = {},
  ) {}

  async snapshot(maxAgeMs: number): Promise<YarnAppReport[]> {
    let snap = this.last;
    if (!snap || Date.now() - snap.startedAt > maxAgeMs) {
      // A call already under way is fresh enough for anyone who accepts some age; a caller who needs a fresh
      // answer (the existing-instance check) joins the one call that starts after it, shared with others.
      snap = await (maxAgeMs > 0 ? (this.inflight ?? this.poll()) : this.fresh());
    }
    if (snap.error) throw snap.error;
    return snap.apps!;
  }

  /** The first poll that starts after `after`, on a schedule of one poll per (shortest waiting) interval. */
  waitNext(after: number, intervalMs: number): Promise<Snapshot> {
    if (this.last && this.last.startedAt > after) return Promise.resolve(this.last);
    return new Promise((resolve) => {
      this.waiters.push({ after, intervalMs, resolve });
      if (intervalMs < this.shortestMs || !this.timer) {
        this.shortestMs = Math.min(this.shortestMs, intervalMs);
        this.schedule();
      }
    });
  }

  /** waitNext as the YarnGateway port's nextLive gives it: a failed poll is returned, not thrown. */
  async nextLive(after: number, intervalMs: number): Promise<LiveSnapshot> {
    const snap = await this.waitNext(after, intervalMs);
    return snap.error
      ? { startedAt: snap.startedAt, error: snap.error.message }
      : { startedAt: snap.startedAt, apps: snap.apps! };
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiters = [];
    this.shortestMs = Infinity;
  }

  private schedule(): void {
    if (this.waiters.length === 0) return;
    const interval = Math.min(this.shortestMs, this.options.maxIntervalMs ?? Infinity);
    const at = Math.max(Date.now(), (this.last?.startedAt ?? 0) + interval);
    if (this.timer && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      if (!this.inflight) void this.poll();
    }, at - Date.now());
    this.timer.unref(); // a pending poll alone must not keep a stopping worker alive
  }

  /** A poll that starts after now: after the one under way, and not sooner than the spacing after the last. */
  private fresh(): Promise<Snapshot> {
    const spacing = this.options.freshSpacingMs ?? FRESH_SPACING_MS;
    if (!this.inflight && (!this.last || Date.now() - this.last.startedAt >= spacing)) return this.poll();
    this.next ??= this.spaced(spacing).then(() => {
      this.next = undefined;
      return this.poll();
    });
    return this.next;
  }

  private async spaced(spacing: number): Promise<void> {
    if (this.inflight) await this.inflight;
    const wait = (this.last?.startedAt ?? 0) + spacing - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private poll(): Promise<Snapshot> {
    const startedAt = Date.now();
    const run = this.list().then(
      (apps): Snapshot => ({ startedAt, apps }),
      (err: unknown): Snapshot => ({
        startedAt,
        error: err instanceof YarnUnavailableError ? err : new YarnUnavailableError((err as Error).message),
      }),
    );
    this.inflight = run;
    void run.then((snap) => {
      if (!this.last || snap.startedAt >= this.last.startedAt) this.last = snap;
      if (this.inflight === run) this.inflight = undefined;
      const ready = this.waiters.filter((w) => w.after < snap.startedAt);
      this.waiters = this.waiters.filter((w) => w.after >= snap.startedAt);
      this.shortestMs = this.waiters.reduce((min, w) => Math.min(min, w.intervalMs), Infinity);
      for (const w of ready) w.resolve(snap);
      this.schedule();
    });
    return run;
  }
}
