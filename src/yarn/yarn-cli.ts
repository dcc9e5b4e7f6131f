// The YARN gateway on the real `yarn` CLI, run on the edge node through a CommandRunner. Listing goes through
// one poller per host, so however many apps a worker supervises there, it costs one `-list` per interval.
import { failureSummary } from '../common/output.js';
import { shellJoin } from '../common/shell-quote.js';
import type { LiveSnapshot, YarnGateway } from '../ports.js';
import { HostUnreachableError, type CommandResult, type CommandRunner } from '../ssh/command-runner.js';
import { parseApplicationList, parseApplicationStatus, parseKillOutput, YarnOutputError } from './parse.js';
import { killArgv, listLiveArgv, statusArgv } from './yarn-commands.js';
import { YarnUnavailableError, type YarnAppReport } from './model.js';

export interface YarnCliOptions {
  /** The yarn command per host; hosts missing here use `yarn`. */
  yarnCommands: Record<string, string>;
  /** The ResourceManager web UI per host, for a link to an app whose tracking URL YARN gives as N/A. */
  webUrls?: Record<string, string>;
  /** The yarn client retries an unreachable ResourceManager for a long time: cut it off (default 60 s). */
  commandTimeoutMs?: number;
  /** The same, per host (`hosts.<name>.yarnTimeout`). */
  commandTimeoutsMs?: Record<string, number>;
  /** Called after every `-list` with how long it took (for metrics). */
  onPoll?: (host: string, seconds: number, ok: boolean) => void;
}

interface Snapshot {
  startedAt: number;
  apps?: YarnAppReport[];
  error?: YarnUnavailableError;
}

export class YarnCli implements YarnGateway {
  private readonly pollers = new Map<string, HostPoller>();

  constructor(
    private readonly runner: CommandRunner,
    private readonly options: YarnCliOptions,
  ) {}

  /** Stops every scheduled poll (worker shutdown). */
  close(): void {
    for (const poller of this.pollers.values()) poller.close();
    this.pollers.clear();
  }

  /** Live apps; a result no older than `maxAgeMs` is shared between callers (0: a fresh call). */
  listLive(host: string, maxAgeMs = 0): Promise<YarnAppReport[]> {
    return this.poller(host).snapshot(maxAgeMs);
  }

  private poller(host: string): HostPoller {
    let poller = this.pollers.get(host);
    if (!poller) {
      poller = new HostPoller(() => this.list(host));
      this.pollers.set(host, poller);
    }
    return poller;
  }

  async nextLive(host: string, intervalMs: number, after: number): Promise<LiveSnapshot> {
    const snap = await this.poller(host).waitNext(after, intervalMs);
    return snap.error
      ? { startedAt: snap.startedAt, error: snap.error.message }
      : { startedAt: snap.startedAt, apps: snap.apps! };
  }

  async status(host: string, appId: string): Promise<YarnAppReport | undefined> {
    const result = await this.yarn(host, statusArgv(this.yarnCommand(host), appId));
    const output = result.stdout + result.stderr;
    if (result.code !== 0 && !/doesn't exist in RM/.test(output)) throw failed('-status', result);
    try {
      const report = parseApplicationStatus(output);
      return report && this.withLink(host, report);
    } catch (err) {
      throw unparsable(err);
    }
  }

  async kill(host: string, appId: string): Promise<void> {
    const result = await this.yarn(host, killArgv(this.yarnCommand(host), appId));
    let outcome;
    try {
      outcome = parseKillOutput(result.stdout + result.stderr);
    } catch (err) {
      throw result.code === 0 ? unparsable(err) : failed('-kill', result);
    }
    if (result.code !== 0 && outcome !== 'notFound') throw failed('-kill', result);
  }

  private async list(host: string): Promise<YarnAppReport[]> {
    const started = Date.now();
    let ok = false;
    try {
      const result = await this.yarn(host, listLiveArgv(this.yarnCommand(host)));
      if (result.code !== 0) throw failed('-list', result);
      try {
        const rows = parseApplicationList(result.stdout);
        ok = true;
        return rows.map(({ id, name, state, finalStatus, trackingUrl }) =>
          this.withLink(host, { id, name, state, finalStatus, ...(trackingUrl ? { trackingUrl } : {}) }),
        );
      } catch (err) {
        throw unparsable(err);
      }
    } finally {
      this.options.onPoll?.(host, (Date.now() - started) / 1000, ok);
    }
  }

  /** The app's tracking URL as YARN gives it, else its page in the configured ResourceManager web UI. */
  private withLink(host: string, report: YarnAppReport): YarnAppReport {
    const { trackingUrl, ...rest } = report;
    if (trackingUrl && trackingUrl !== 'N/A') return { ...rest, trackingUrl };
    const web = this.options.webUrls?.[host];
    return web ? { ...rest, trackingUrl: `${web.replace(/\/+$/, '')}/cluster/app/${report.id}` } : rest;
  }

  private yarnCommand(host: string): string {
    return this.options.yarnCommands[host] ?? 'yarn';
  }

  private async yarn(host: string, argv: string[]): Promise<CommandResult> {
    try {
      return await this.runner.run(host, shellJoin(argv), {
        timeoutMs: this.options.commandTimeoutsMs?.[host] ?? this.options.commandTimeoutMs ?? 60_000,
      });
    } catch (err) {
      if (err instanceof HostUnreachableError || (err as Error).name === 'CommandTimeoutError') {
        throw new YarnUnavailableError(`${host}: ${(err as Error).message}`);
      }
      throw err;
    }
  }
}

/** A failed call, with the cause Java printed first (`Exception in thread "main" …`) as well as its last lines. */
function failed(what: string, result: CommandResult): YarnUnavailableError {
  const summary = failureSummary(result.stderr.trim() || result.stdout);
  return new YarnUnavailableError(
    `yarn application ${what} exited with ${result.code ?? 'a signal'}: ${summary}`,
  );
}

function unparsable(err: unknown): unknown {
  return err instanceof YarnOutputError
    ? new YarnUnavailableError(`unparsable yarn output: ${err.message}`)
    : err;
}

/**
 * Shares `yarn application -list` calls on one host. Supervisions wait for the next scheduled poll (one per
 * interval however many apps wait); other callers take a recent enough result or join the next fresh call.
 */
class HostPoller {
  private last: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private next: Promise<Snapshot> | undefined;
  private waiters: { after: number; intervalMs: number; resolve: (snap: Snapshot) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  constructor(private readonly list: () => Promise<YarnAppReport[]>) {}

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
      this.schedule();
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.waiters = [];
  }

  private schedule(): void {
    if (this.waiters.length === 0) return;
    const interval = Math.min(...this.waiters.map((w) => w.intervalMs));
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

  private fresh(): Promise<Snapshot> {
    if (!this.inflight) return this.poll();
    this.next ??= this.inflight.then(() => {
      this.next = undefined;
      return this.poll();
    });
    return this.next;
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
      for (const w of ready) w.resolve(snap);
      this.schedule();
    });
    return run;
  }
}
