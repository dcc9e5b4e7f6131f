// Reading an app's status: the workflow's `status` query, completed by what Temporal knows of the execution.
import type { Client, WorkflowExecutionDescription, WorkflowHandle } from '@temporalio/client';
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
}

export async function readAppStatus(
  handle: AppWorkflowHandle,
  description: WorkflowExecutionDescription,
): Promise<AppStatusView> {
  const status = await handle.query(statusQuery);
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
  return {
    ...status,
    lastHeartbeatAt,
    workflowId: description.workflowId,
    runId: description.runId,
    execution: description.status.name,
  };
}

export function ageOf(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
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
