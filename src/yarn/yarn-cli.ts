// The YARN gateway on the real `yarn` CLI, run on the edge node through a CommandRunner. Listing goes through
// one poller per host, so however many apps a worker supervises there, it costs one `-list` per interval.
import { failureSummary } from '../common/output.js';
import { shellJoin } from '../common/shell-quote.js';
import type { LiveSnapshot, LiveWaitOptions, YarnGateway } from '../ports.js';
import { HostUnreachableError, type CommandResult, type CommandRunner } from '../ssh/command-runner.js';
import { parseApplicationList, parseApplicationStatus, parseKillOutput, YarnOutputError } from './parse.js';
import { killArgv, listLiveArgv, statusArgv } from './yarn-commands.js';
import { HostPoller } from './host-poller.js';
import { LiveView } from './live-changes.js';
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

export class YarnCli implements YarnGateway {
  private readonly pollers = new Map<string, HostPoller>();
  private readonly views = new Map<string, LiveView>();

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

  nextLive(
    host: string,
    intervalMs: number,
    after: number,
    options?: LiveWaitOptions,
  ): Promise<LiveSnapshot> {
    return this.poller(host).nextLive(after, intervalMs, options);
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
        const apps = rows.map(({ id, name, state, finalStatus, trackingUrl }) =>
          this.withLink(host, { id, name, state, finalStatus, ...(trackingUrl ? { trackingUrl } : {}) }),
        );
        // The same reports (and list) as the last poll where nothing changed: see LiveView.
        let view = this.views.get(host);
        if (!view) this.views.set(host, (view = new LiveView()));
        return view.full(started, apps);
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
