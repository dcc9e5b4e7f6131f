// One host's shared poll of its live YARN applications, whichever way it reads them (the `yarn` CLI or the
// ResourceManager's REST API): however many apps a worker supervises on a host, one poll per interval.
import type { LiveSnapshot, LiveWaitOptions } from '../ports.js';
import { YarnUnavailableError, type YarnAppReport } from './model.js';

/** One poll: when it started, and the live apps or why there are none to tell. */
export interface Snapshot {
  startedAt: number;
  apps?: YarnAppReport[];
  error?: YarnUnavailableError;
}

interface Waiter {
  after: number;
  intervalMs: number;
  resolve: (snap: Snapshot) => void;
  quiet?: (snap: Snapshot) => boolean;
  /** Aborted: out of the queue, even when that happens in its own `quiet`. */
  left?: boolean;
}

/** What a poll is for: the host's gateway may answer a scheduled one from what changed since its last list. */
export interface PollRequest {
  /** Asked for fresh (an existence check): only a full list will do. */
  fresh: boolean;
  /** The shortest interval the supervisions waiting on it ask for (Infinity when none waits). */
  intervalMs: number;
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
  private waiters: Waiter[] = [];
  /** The shortest interval among the waiters (kept as they come and go: a thousand wait at once). */
  private shortestMs = Infinity;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly list: (request: PollRequest) => Promise<YarnAppReport[]>,
    private readonly options: HostPollerOptions = {},
  ) {}

  async snapshot(maxAgeMs: number): Promise<YarnAppReport[]> {
    let snap = this.last;
    if (!snap || Date.now() - snap.startedAt > maxAgeMs) {
      // A call already under way is fresh enough for anyone who accepts some age; a caller who needs a fresh
      // answer (the existing-instance check) joins the one call that starts after it, shared with others.
      snap = await (maxAgeMs > 0 ? (this.inflight ?? this.poll(true)) : this.fresh());
    }
    if (snap.error) throw snap.error;
    return snap.apps!;
  }

  /**
   * The first poll that starts after `after`, on a schedule of one poll per (shortest waiting) interval, and that
   * `quiet` does not pass over.
   */
  waitNext(
    after: number,
    intervalMs: number,
    { quiet, signal }: { quiet?: (snap: Snapshot) => boolean; signal?: AbortSignal } = {},
  ): Promise<Snapshot> {
    const last = this.last;
    if (last && last.startedAt > after) {
      if (!quiet || !passes(quiet, last)) return Promise.resolve(last);
      after = last.startedAt;
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { after, intervalMs, resolve, ...(quiet ? { quiet } : {}) };
      if (signal) {
        // Removed once the waiter is served: a supervision waits for months, on one signal.
        const onAbort = () => this.leave(waiter);
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.resolve = (snap) => {
          signal.removeEventListener('abort', onAbort);
          resolve(snap);
        };
      }
      this.waiters.push(waiter);
      if (intervalMs < this.shortestMs || !this.timer) {
        this.shortestMs = Math.min(this.shortestMs, intervalMs);
        this.schedule();
      }
    });
  }

  /** waitNext as the YarnGateway port's nextLive gives it: a failed poll is returned, not thrown. */
  async nextLive(after: number, intervalMs: number, options: LiveWaitOptions = {}): Promise<LiveSnapshot> {
    const { quiet, signal } = options;
    const snap = await this.waitNext(after, intervalMs, {
      ...(quiet ? { quiet: (s: Snapshot) => quiet(liveOf(s)) } : {}),
      ...(signal ? { signal } : {}),
    });
    return liveOf(snap);
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiters = [];
    this.shortestMs = Infinity;
  }

  private leave(waiter: Waiter): void {
    waiter.left = true;
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    this.shortestMs = this.waiters.reduce((min, w) => Math.min(min, w.intervalMs), Infinity);
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
      if (!this.inflight) void this.poll(false);
    }, at - Date.now());
    this.timer.unref(); // a pending poll alone must not keep a stopping worker alive
  }

  /** A poll that starts after now: after the one under way, and not sooner than the spacing after the last. */
  private fresh(): Promise<Snapshot> {
    const spacing = this.options.freshSpacingMs ?? FRESH_SPACING_MS;
    if (!this.inflight && (!this.last || Date.now() - this.last.startedAt >= spacing)) return this.poll(true);
    this.next ??= this.spaced(spacing).then(() => {
      this.next = undefined;
      return this.poll(true);
    });
    return this.next;
  }

  private async spaced(spacing: number): Promise<void> {
    if (this.inflight) await this.inflight;
    const wait = (this.last?.startedAt ?? 0) + spacing - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private poll(fresh: boolean): Promise<Snapshot> {
    const startedAt = Date.now();
    const run = this.list({ fresh, intervalMs: this.shortestMs }).then(
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
      const ready: Waiter[] = [];
      const waiting: Waiter[] = [];
      for (const w of this.waiters) {
        if (w.after >= snap.startedAt) waiting.push(w);
        else if (w.quiet && passes(w.quiet, snap)) {
          w.after = snap.startedAt;
          if (!w.left) waiting.push(w);
        } else ready.push(w);
      }
      this.waiters = waiting;
      this.shortestMs = waiting.reduce((min, w) => Math.min(min, w.intervalMs), Infinity);
      for (const w of ready) w.resolve(snap);
      this.schedule();
    });
    return run;
  }
}

/** The port's view of a poll, made once per poll however many waiters look at it. */
const live = new WeakMap<Snapshot, LiveSnapshot>();
function liveOf(snap: Snapshot): LiveSnapshot {
  let view = live.get(snap);
  if (!view) {
    view = snap.error
      ? { startedAt: snap.startedAt, error: snap.error.message }
      : { startedAt: snap.startedAt, apps: snap.apps! };
    live.set(snap, view);
  }
  return view;
}

/** A waiter's `quiet` that throws lets the poll through: the caller's own code then meets the problem. */
function passes(quiet: (snap: Snapshot) => boolean, snap: Snapshot): boolean {
  try {
    return quiet(snap);
  } catch {
    return false;
  }
}
