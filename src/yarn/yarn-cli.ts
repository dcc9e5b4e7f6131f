// The YARN gateway on the real `yarn` CLI, run on the edge node through a CommandRunner. Listing goes through
// one poller per host, so however many apps a worker supervises there, it costs one `-list` per interval.
import { YarnUnavailableError, type YarnGateway } from '../activities/deps.js';
import type { YarnAppReport } from '../activities/types.js';
import { shellJoin } from '../common/shell-quote.js';
import { HostUnreachableError, type CommandResult, type CommandRunner } from '../ssh/command-runner.js';
import { parseApplicationList, parseApplicationStatus, parseKillOutput, YarnOutputError } from './parse.js';
import { killArgv, listLiveArgv, statusArgv } from './yarn-commands.js';

export interface YarnCliOptions {
  /** The yarn command per host; hosts missing here use `yarn`. */
  yarnCommands: Record<string, string>;
  /** The yarn client retries an unreachable ResourceManager for a long time: cut it off. */
  commandTimeoutMs?: number;
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

  /** Live apps; a result no older than `maxAgeMs` is shared between callers (0: a fresh call). */
  listLive(host: string, maxAgeMs = 0): Promise<YarnAppReport[]> {
    let poller = this.pollers.get(host);
    if (!poller) {
      poller = new HostPoller(() => this.list(host));
      this.pollers.set(host, poller);
    }
    return poller.snapshot(maxAgeMs);
  }

  async status(host: string, appId: string): Promise<YarnAppReport | undefined> {
    const result = await this.yarn(host, statusArgv(this.yarnCommand(host), appId));
    const output = result.stdout + result.stderr;
    if (result.code !== 0 && !/doesn't exist in RM/.test(output)) throw failed('-status', result);
    try {
      return parseApplicationStatus(output);
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
        return rows.map(({ id, name, state, finalStatus }) => ({ id, name, state, finalStatus }));
      } catch (err) {
        throw unparsable(err);
      }
    } finally {
      this.options.onPoll?.(host, (Date.now() - started) / 1000, ok);
    }
  }

  private yarnCommand(host: string): string {
    return this.options.yarnCommands[host] ?? 'yarn';
  }

  private async yarn(host: string, argv: string[]): Promise<CommandResult> {
    try {
      return await this.runner.run(host, shellJoin(argv), {
        timeoutMs: this.options.commandTimeoutMs ?? 60_000,
      });
    } catch (err) {
      if (err instanceof HostUnreachableError || (err as Error).name === 'CommandTimeoutError') {
        throw new YarnUnavailableError(`${host}: ${(err as Error).message}`);
      }
      throw err;
    }
  }
}

function failed(what: string, result: CommandResult): YarnUnavailableError {
  const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-3).join(' | ');
  return new YarnUnavailableError(
    `yarn application ${what} exited with ${result.code ?? 'a signal'}: ${tail.slice(0, 500)}`,
  );
}

function unparsable(err: unknown): unknown {
  return err instanceof YarnOutputError
    ? new YarnUnavailableError(`unparsable yarn output: ${err.message}`)
    : err;
}

/** Shares one `yarn application -list` between every caller that can use a result of that age. */
class HostPoller {
  private last: Snapshot | undefined;
  private inflight: Promise<Snapshot> | undefined;
  private next: Promise<Snapshot> | undefined;

  constructor(private readonly list: () => Promise<YarnAppReport[]>) {}

  async snapshot(maxAgeMs: number): Promise<YarnAppReport[]> {
    const requestedAt = Date.now();
    let snap = this.last;
    if (!snap || requestedAt - snap.startedAt > maxAgeMs) {
      // A call already under way is fresh enough for anyone who accepts some age; a caller who needs a fresh
      // answer (the existing-instance check) joins the one call that starts after it, shared with others.
      snap = await (maxAgeMs > 0 ? (this.inflight ?? this.poll()) : this.fresh());
    }
    if (snap.error) throw snap.error;
    return snap.apps!;
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
      (err: unknown): Snapshot => {
        if (err instanceof YarnUnavailableError) return { startedAt, error: err };
        return { startedAt, error: new YarnUnavailableError((err as Error).message) };
      },
    );
    this.inflight = run;
    void run.then((snap) => {
      if (!this.last || snap.startedAt >= this.last.startedAt) this.last = snap;
      if (this.inflight === run) this.inflight = undefined;
    });
    return run;
  }
}
