// Parsing what the real `yarn application` CLI and spark-submit print (Hadoop's ApplicationCLI, Spark's yarn
// Client). Pure functions: stdout in, data out. stderr (log4j) is never parsed as rows.
import type { YarnAppReport } from './model.js';

export const APP_ID = /application_\d+_\d+/;
const APP_ID_EXACT = /^application_\d+_\d+$/;

/** Output that does not look like what the yarn CLI prints: the poller treats it as trouble, not as "no apps". */
export class YarnOutputError extends Error {
  override name = 'YarnOutputError';
}

export interface YarnListRow extends YarnAppReport {
  type: string;
  user: string;
  queue: string;
  progress: string;
  trackingUrl: string;
}

const LIST_HEADER = 'Application-Id';
const SUMMARY =
  /^Total number of applications \(application-types: \[[^\]]*\](?:,)? (?:and )?states: \[([^\]]*)\](?: and tags: \[[^\]]*\])?\):(\d+)$/;

/**
 * `yarn application -list` stdout (Hadoop 2.x or 3.x): rows are TAB-separated, right-aligned fields:
 * Application-Id, Application-Name, Application-Type, User, Queue, State, Final-State, Progress, Tracking-URL.
 */
export function parseApplicationList(stdout: string): YarnListRow[] {
  const lines = stdout.split(/\r?\n/);
  const summaryAt = lines.findIndex((l) => SUMMARY.test(l.trim()));
  if (summaryAt < 0)
    throw new YarnOutputError(`no "Total number of applications" line in: ${excerpt(stdout)}`);
  const expected = Number(SUMMARY.exec(lines[summaryAt]!.trim())![2]);
  const rows: YarnListRow[] = [];
  let sawHeader = false;
  for (const line of lines.slice(summaryAt + 1)) {
    if (line.trim() === '') continue;
    const fields = line.split('\t').map((f) => f.trim());
    if (!sawHeader && fields[0] === LIST_HEADER) {
      sawHeader = true;
      continue;
    }
    if (fields.length < 9 || !APP_ID_EXACT.test(fields[0]!)) {
      throw new YarnOutputError(`unexpected line in the application list: ${excerpt(line)}`);
    }
    // A name holding a TAB would split in two: the seven trailing fields are fixed, the rest is the name.
    const name = fields.slice(1, fields.length - 7).join('\t');
    const [type, user, queue, state, finalStatus, progress, trackingUrl] = fields.slice(fields.length - 7);
    rows.push({
      id: fields[0]!,
      name,
      type: type!,
      user: user!,
      queue: queue!,
      state: state!,
      finalStatus: finalStatus!,
      progress: progress!,
      trackingUrl: trackingUrl!,
    });
  }
  if (expected > 0 && !sawHeader) throw new YarnOutputError('application list without its header line');
  if (rows.length !== expected) {
    throw new YarnOutputError(`the list says ${expected} applications but has ${rows.length} rows`);
  }
  return rows;
}

const STATUS_KEYS = [
  'Application-Id',
  'Application-Name',
  'Application-Type',
  'User',
  'Queue',
  'Application Priority',
  'Start-Time',
  'Finish-Time',
  'Progress',
  'State',
  'Final-State',
  'Tracking-URL',
  'RPC Port',
  'AM Host',
  'Aggregate Resource Allocation',
  'Aggregate Resource Preempted',
  'Log Aggregation Status',
  'Diagnostics',
  'Unmanaged Application',
  'Application Node Label Expression',
  'AM container Node Label Expression',
  'TimeoutType',
  'Application Tags',
  'Application Timeout',
] as const;

/** `yarn application -status <id>` stdout; undefined when YARN does not know the id. */
export function parseApplicationStatus(stdout: string): YarnAppReport | undefined {
  if (/Application with id '[^']*' doesn't exist in RM/.test(stdout)) return undefined;
  const lines = stdout.split(/\r?\n/);
  const start = lines.findIndex((l) => l.trimEnd() === 'Application Report :');
  if (start < 0) throw new YarnOutputError(`no "Application Report :" in: ${excerpt(stdout)}`);
  const fields = new Map<string, string>();
  let current: string | undefined;
  for (const line of lines.slice(start + 1)) {
    const match = /^\t([^:]+?) : ?(.*)$/.exec(line);
    const key = match?.[1];
    if (match && key && (STATUS_KEYS as readonly string[]).includes(key)) {
      current = key;
      fields.set(key, match[2] ?? '');
    } else if (current === 'Diagnostics') {
      // Diagnostics may run over several lines.
      fields.set(current, `${fields.get(current) ?? ''}\n${line}`);
    }
  }
  const id = fields.get('Application-Id');
  const state = fields.get('State');
  if (!id || !APP_ID_EXACT.test(id) || !state)
    throw new YarnOutputError(`incomplete application report: ${excerpt(stdout)}`);
  const diagnostics = (fields.get('Diagnostics') ?? '').trim();
  const trackingUrl = fields.get('Tracking-URL')?.trim();
  return {
    id,
    name: fields.get('Application-Name') ?? '',
    state,
    finalStatus: fields.get('Final-State') ?? 'UNDEFINED',
    ...(diagnostics ? { diagnostics } : {}),
    ...(trackingUrl ? { trackingUrl } : {}),
  };
}

export type KillOutcome = 'killed' | 'alreadyFinished' | 'notFound';

/** `yarn application -kill <id>` stdout+stderr. */
export function parseKillOutput(output: string): KillOutcome {
  if (/Application with id '[^']*' doesn't exist in RM/.test(output)) return 'notFound';
  if (/Application application_\d+_\d+ has already finished/.test(output)) return 'alreadyFinished';
  if (
    /Killing application application_\d+_\d+/.test(output) ||
    /Killed application application_\d+_\d+/.test(output)
  )
    return 'killed';
  throw new YarnOutputError(`unexpected -kill output: ${excerpt(output)}`);
}

/** The YARN application id in spark-submit's output (stdout and stderr together), if it submitted one. */
export function parseSparkSubmitAppId(output: string): string | undefined {
  return (
    /Submitting application (application_\d+_\d+) to ResourceManager/.exec(output)?.[1] ??
    APP_ID.exec(output)?.[0]
  );
}

function excerpt(text: string): string {
  const oneLine = text.trim().replace(/\s+/g, ' ');
  return JSON.stringify(oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine);
}
