// `yarn logs -applicationId ID` on the app's edge node, over the worker config's SSH hosts: each log file bounded at
// the source (`-size -N`: its last N bytes), the whole answer bounded again here, and YARN's refusals (an id it
// does not know, log aggregation off or not done yet) turned into messages that say so. `yarn logs` cannot follow
// a running app: following reads it again every few seconds and prints what each container's files gained.
import { failureSummary } from '../common/output.js';
import { shellJoin } from '../common/shell-quote.js';
import type { WorkerConfig } from '../config/worker-config.js';
import { HostCommandRunner, type CommandResult, type CommandRunner } from '../ssh/command-runner.js';
import type * as SshPoolModule from '../ssh/ssh-pool.js';
import { CliError } from './errors.js';

/** What YARN prints when it has no logs to give: aggregation off, not done yet, or nothing matched. */
const NO_LOGS = [
  /Log aggregation has not completed or is not enabled/,
  /Can not find the logs for the application/,
  /Can not find any log file matching the pattern/,
  /does not have any log files/,
];
/** What it prints for an application id it does not know. */
const UNKNOWN_APP = [/Could not locate application logs for/, /doesn't exist in RM/];

export class YarnLogs {
  private readonly pool: SshPoolModule.SshPool;
  private readonly runner: CommandRunner;

  constructor(
    private readonly config: WorkerConfig,
    private readonly timeoutMs: number,
  ) {
    // Loaded on use: every kappa command loads this module, and only --yarn needs SSH.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { SshPool } = require('../ssh/ssh-pool.js') as typeof SshPoolModule;
    this.pool = new SshPool(config.hosts);
    this.runner = new HostCommandRunner(this.pool);
  }

  /** The logs of `appId`: every container's files, each its last `limitBytes`, all of it at most `limitBytes`. */
  async fetch(host: string, appId: string, limitBytes: number): Promise<string> {
    const yarn =
      host === 'local' ? this.config.local.yarnCommand : (this.config.hosts[host]?.yarnCommand ?? 'yarn');
    const argv = [yarn, 'logs', '-applicationId', appId, '-size', String(-limitBytes)];
    let result;
    try {
      result = await this.runner.run(host, shellJoin(argv), { timeoutMs: this.timeoutMs });
    } catch (err) {
      throw new CliError(`cannot run \`yarn logs\` on ${host}: ${(err as Error).message}`);
    }
    return judgeYarnLogs(result, host, appId, limitBytes);
  }

  close(): void {
    this.pool.close();
  }
}

/** What `yarn logs` answered: its output (bounded), or a CliError saying why there is none. */
export function judgeYarnLogs(
  result: CommandResult,
  host: string,
  appId: string,
  limitBytes: number,
): string {
  const said = `${result.stdout}\n${result.stderr}`;
  if (UNKNOWN_APP.some((re) => re.test(said))) {
    throw new CliError(`YARN on ${host} does not know ${appId}: ${lastLine(result.stderr)}`);
  }
  if (result.code !== 0 && NO_LOGS.some((re) => re.test(said))) {
    throw new CliError(
      `YARN has no logs of ${appId}: log aggregation is off on the cluster (yarn.log-aggregation-enable), or ` +
        `has not finished yet (a finished app's logs are aggregated shortly after it ends). YARN said: ` +
        lastLine(result.stderr),
    );
  }
  if (result.code !== 0) {
    throw new CliError(
      `yarn logs on ${host} exited with ${result.code ?? 'a signal'}: ${failureSummary(result.stderr || result.stdout)}`,
    );
  }
  return lastBytes(result.stdout, limitBytes);
}

function lastLine(text: string): string {
  return (
    text
      .trim()
      .split('\n')
      .filter((l) => !/^\S+ \S+ INFO /.test(l))
      .at(-1) ?? '(nothing)'
  );
}

/** The last `limit` bytes of `text`, from a line start; a first line saying what was left out. */
export function lastBytes(text: string, limit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  const tail = bytes.subarray(bytes.length - limit).toString('utf8');
  const start = tail.indexOf('\n') + 1;
  return `[kappa: ${bytes.length - limit + start} earlier bytes not shown; --limit-bytes ${limit}]\n${tail.slice(start)}`;
}

/**
 * One container's log file in `yarn logs` output (Hadoop 3: `Container: C on NODE`, `LogType:NAME`, …,
 * `LogContents:`, the contents, `End of LogType:NAME`), keyed `C NAME`.
 */
export function logSections(text: string): Map<string, string> {
  const sections = new Map<string, string>();
  let container = '';
  let current: { key: string; lines: string[] } | undefined;
  let logType = '';
  for (const line of text.split('\n')) {
    if (current) {
      if (line === `End of LogType:${logType}`) {
        sections.set(current.key, current.lines.join('\n'));
        current = undefined;
      } else current.lines.push(line);
      continue;
    }
    const header = /^Container: (\S+) on /.exec(line);
    if (header) container = header[1]!;
    const type = /^LogType:(.*)$/.exec(line);
    if (type) logType = type[1]!;
    if (line === 'LogContents:') current = { key: `${container} ${logType}`, lines: [] };
  }
  return sections;
}

/**
 * What each file gained since `before`, `tail -f` style (`==> C NAME <==` before each file's new lines). A file
 * that is not a continuation of what was seen (rolled, or its bounded window moved past it) is shown whole.
 */
export function gained(before: Map<string, string>, after: Map<string, string>): string {
  const out: string[] = [];
  for (const [key, text] of after) {
    const old = before.get(key) ?? '';
    const added = text.startsWith(old) ? text.slice(old.length) : afterOverlap(old, text);
    const lines = added.replace(/^\n/, '');
    if (lines.trim()) out.push(`==> ${key} <==\n${lines.replace(/\n?$/, '\n')}`);
  }
  return out.join('');
}

/**
 * The lines of `text` after the longest run of its first lines that ends what was seen (`old`): where a window
 * bounded by `-size` moved on, what is new. All of `text` when nothing overlaps (the file rolled).
 */
function afterOverlap(old: string, text: string): string {
  const seen = old.replace(/\n+$/, '').split('\n');
  const lines = text.split('\n');
  const last = seen.at(-1);
  for (let i = Math.min(lines.length, seen.length) - 1; i >= 0; i--) {
    if (lines[i] !== last) continue;
    const head = lines.slice(0, i + 1);
    // The window's first line may start mid-line (`-size` counts bytes).
    const matches = (line: string, j: number) => {
      const was = seen[seen.length - head.length + j] ?? '';
      return j === 0 ? was.endsWith(line) : line === was;
    };
    if (head.every(matches)) return lines.slice(i + 1).join('\n');
  }
  return text;
}
