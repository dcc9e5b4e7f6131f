// Reading an app's status: the workflow's `status` query, completed by what Temporal knows of the execution.
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
import { ServiceError } from '@temporalio/client';
import type { appWorkflow } from '../workflows/app-workflow.js';
import { statusQuery, type AppStatus } from '../workflows/definitions.js';

/** A handle on an app's workflow, typed: its result, signals, queries and updates are checked. */
export type AppWorkflowHandle = WorkflowHandle<typeof appWorkflow>;

export function appWorkflowHandle(client: Client, workflowId: string, runId?: string): AppWorkflowHandle {
  return client.workflow.getHandle<typeof appWorkflow>(workflowId, runId);
}

export interface AppStatusView extends AppStatus {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, … */
  execution: string;
  /** What is happening now, in one line (see describeNow). */
  now: string;
  /** The workflow's pending activities: what is being tried, its attempt and last failure. */
  activities: ActivityNow[];
}

/** gRPC's DEADLINE_EXCEEDED: Temporal's answer to a query no worker took in time. */
const DEADLINE_EXCEEDED = 4;

/**
 * The workflow's `status` query, asked again once if it timed out: a query that arrives while the worker evicts the
 * run (it just ended) is dropped by the SDK's core ("leftover buffered tasks when evicting run"), and the next one
 * is answered from the run's history.
 */
export async function queryAppStatus(handle: AppWorkflowHandle): Promise<AppStatus> {
  try {
    return await handle.query(statusQuery);
  } catch (err) {
    const code = (err instanceof ServiceError ? (err.cause as { code?: unknown } | undefined) : undefined)
      ?.code;
    if (code !== DEADLINE_EXCEEDED) throw err;
    return handle.query(statusQuery);
  }
}

export async function readAppStatus(
  handle: AppWorkflowHandle,
  description: WorkflowExecutionDescription,
): Promise<AppStatusView> {
  const status = await queryAppStatus(handle);
  // The workflow hears from the poller only when something changes; the activity's own heartbeat is fresher.
  const heartbeats = (description.raw.pendingActivities ?? [])
    .map((a) => a.lastHeartbeatTime)
    .filter((t): t is NonNullable<typeof t> => t !== null && t !== undefined)
    .map((t) => new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString());
  const lastHeartbeatAt =
    [status.lastHeartbeatAt, ...heartbeats]
      .filter((t): t is string => t !== null)
      .sort()
      .at(-1) ?? null;
  const activities = pendingActivities(description);
  return {
    ...status,
    lastHeartbeatAt,
    workflowId: description.workflowId,
    runId: description.runId,
    execution: description.status.name,
    now: describeNow(status, activities),
    activities,
  };
}

export function ageOf(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  return roughly((now - Date.parse(iso)) / 1000);
}

/** How long until `iso` (0s once it has passed). */
export function untilOf(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  return roughly((Date.parse(iso) - now) / 1000);
}

function roughly(secondsExact: number): string {
  const seconds = Math.max(0, Math.round(secondsExact));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
}

/** Left-aligned columns, the way `kubectl get` prints them. */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** A pending activity as `temporal workflow describe` shows it: what is being tried now, and how it went. */
export interface ActivityNow {
  activity: string;
  /** SCHEDULED, STARTED or CANCEL_REQUESTED. */
  state: string;
  attempt: number;
  /** The last failure's message and its causes, when a try failed. */
  lastFailure: string | null;
  nextRetryAt: string | null;
}

type PendingActivity = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];
type FailureProto = NonNullable<PendingActivity['lastFailure']>;
type Timestamp = NonNullable<PendingActivity['lastHeartbeatTime']>;

function isoOf(t: Timestamp | null | undefined): string | null {
  if (!t) return null;
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

/** A failure and its cause chain in one line: `outer: caused by inner`. */
export function failureChain(failure: FailureProto | null | undefined): string | null {
  const parts: string[] = [];
  for (let f = failure; f && parts.length < 5; f = f.cause) if (f.message) parts.push(f.message);
  return parts.length > 0 ? parts.join(': caused by ') : null;
}

const ACTIVITY_STATES = [
  'UNSPECIFIED',
  'SCHEDULED',
  'STARTED',
  'CANCEL_REQUESTED',
  'PAUSED',
  'PAUSE_REQUESTED',
];

export function pendingActivities(description: WorkflowExecutionDescription): ActivityNow[] {
  return (description.raw.pendingActivities ?? []).map((a) => ({
    activity: a.activityType?.name ?? 'activity',
    state: ACTIVITY_STATES[Number(a.state ?? 0)] ?? String(a.state),
    attempt: a.attempt ?? 1,
    lastFailure: failureChain(a.lastFailure),
    nextRetryAt: isoOf(a.nextAttemptScheduleTime),
  }));
}

/**
 * What is happening now, in one line: an activity being retried and why, Degraded since when and why, the next
 * restart, an app YARN still holds in ACCEPTED, the step running. `-` when the app just runs.
 */
export function describeNow(status: AppStatus, activities: ActivityNow[], now = Date.now()): string {
  const retrying = activities.find((a) => a.lastFailure !== null && status.phase !== 'Degraded');
  if (retrying) {
    const next = retrying.nextRetryAt ? `; next try in ${untilOf(retrying.nextRetryAt, now)}` : '';
    return `retrying ${retrying.activity} (attempt ${retrying.attempt}${next}): ${retrying.lastFailure}`;
  }
  switch (status.phase) {
    case 'Degraded':
      return `edge node unreachable for ${ageOf(status.degradedSince, now)}, nothing restarted meanwhile: ${status.lastError ?? '-'}`;
    case 'BackingOff':
      return `restart ${status.restarts} in ${untilOf(status.nextRestartAt, now)} (at ${status.nextRestartAt ?? '-'}) after: ${status.lastError ?? '-'}`;
    case 'Starting':
      if (status.acceptedSince) {
        return `YARN shows ${status.yarnAppId ?? 'the app'} ACCEPTED for ${ageOf(status.acceptedSince, now)}, not RUNNING yet`;
      }
      return status.step ? `running step "${status.step}"` : 'looking for the app in YARN';
    default:
      return '-';
  }
}
