// Where an app's start-up time goes, read back from workflow histories: for a sample of apps, when each activity
// was scheduled, started and completed relative to the deploy, and how long workflow tasks waited for a worker.
// Printed by scripts/bench-supervise.ts after all apps run, so a slow start-up names its slow part.
import type { Client } from '@temporalio/client';
import { percentile } from './edge-meter.js';

type Millis = number;
interface Marks {
  [mark: string]: Millis[];
}

const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): Millis =>
  t ? Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6) : NaN;

/**
 * For `names` (a sample), the p50/p95 in seconds of: workflow started, each activity type's first scheduled /
 * started / completed, all relative to `deployStartedAt`; and the workflow tasks' schedule-to-start wait.
 */
export async function startupTimeline(
  client: Client,
  names: string[],
  deployStartedAt: Millis,
): Promise<string> {
  const marks: Marks = {};
  const add = (mark: string, at: Millis) => {
    if (!Number.isNaN(at)) (marks[mark] ??= []).push(at);
  };
  const wftWaits: Millis[] = [];
  for (const name of names) {
    const history = await client.workflow.getHandle(`kappa/${name}`).fetchHistory();
    const typeOf = new Map<number, string>();
    const seen = new Set<string>();
    const once = (mark: string, at: Millis) => {
      if (seen.has(mark)) return;
      seen.add(mark);
      add(mark, at - deployStartedAt);
    };
    let wftScheduled: Millis | undefined;
    for (const event of history.events ?? []) {
      const at = ms(event.eventTime);
      const id = Number(event.eventId);
      if (event.workflowExecutionStartedEventAttributes) once('workflow started', at);
      if (event.workflowTaskScheduledEventAttributes) wftScheduled = at;
      if (event.workflowTaskStartedEventAttributes && wftScheduled !== undefined) {
        wftWaits.push(at - wftScheduled);
        wftScheduled = undefined;
        once('1st workflow task started', at);
      }
      if (event.workflowTaskCompletedEventAttributes) once('1st workflow task completed', at);
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) {
        const type = scheduled.activityType?.name ?? '?';
        typeOf.set(id, type);
        once(`${type} scheduled`, at);
      }
      const started = event.activityTaskStartedEventAttributes;
      if (started) once(`${typeOf.get(Number(started.scheduledEventId)) ?? '?'} started`, at);
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed) once(`${typeOf.get(Number(completed.scheduledEventId)) ?? '?'} completed`, at);
      if (event.markerRecordedEventAttributes) once('local activity done', at);
    }
  }
  const lines = Object.entries(marks)
    .sort((a, b) => percentile(a[1], 50) - percentile(b[1], 50))
    .map(
      ([mark, values]) =>
        `    ${mark.padEnd(28)} p50 ${(percentile(values, 50) / 1000).toFixed(1).padStart(6)} s  p95 ${(percentile(values, 95) / 1000).toFixed(1).padStart(6)} s`,
    );
  lines.push(
    `    ${'workflow task wait'.padEnd(28)} p50 ${(percentile(wftWaits, 50) / 1000).toFixed(2).padStart(6)} s  p95 ${(percentile(wftWaits, 95) / 1000).toFixed(2).padStart(6)} s`,
  );
  return `  start-up timeline (${names.length} apps, from the deploy's start):\n${lines.join('\n')}\n`;
}

/**
 * When the app's workflow heard that its YARN app ended: the first superviseApp completion recorded at or after
 * `after` (the kill), from the history.
 */
export async function supervisionEndedAt(client: Client, name: string, after: Millis): Promise<Millis> {
  const history = await client.workflow.getHandle(`kappa/${name}`).fetchHistory();
  const types = new Map<number, string>();
  for (const event of history.events ?? []) {
    const type = event.activityTaskScheduledEventAttributes?.activityType?.name;
    if (type) types.set(Number(event.eventId), type);
    const completed = event.activityTaskCompletedEventAttributes;
    const at = ms(event.eventTime);
    if (completed && at >= after && types.get(Number(completed.scheduledEventId)) === 'superviseApp')
      return at;
  }
  return NaN;
}

/**
 * When the app's workflow first set its phase to Running: the event time of the search-attribute upsert that did,
 * which Temporal records as the workflow task completes. NaN if it never did.
 */
export async function runningAt(client: Client, name: string): Promise<Millis> {
  const history = await client.workflow.getHandle(`kappa/${name}`).fetchHistory();
  for (const event of history.events ?? []) {
    const phase =
      event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.KappaPhase;
    if (phase?.data && JSON.parse(Buffer.from(phase.data).toString()) === 'Running')
      return ms(event.eventTime);
  }
  return NaN;
}
