// What a stop is waiting for, read from the workflow: its pending activity (the kill of the YARN application, and
// how its tries go), that activity's input in the history (which application, on which edge node), and the
// `status` query (since when the edge node has not answered). A kill is retried until its schedule-to-close
// deadline (spec.yarn.unreachableTimeout + 3 minutes, src/workflows/activity-options.ts killActivities); then
// the stop fails and the app is Failed.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { KillAppInput } from '../activities/types.js';
import { formatDuration } from '../common/duration.js';
import type { AppStatus } from '../workflows/definitions.js';
import { failureChain, untilOf } from './app-status.js';

type Pending = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];
type Timestamp = Pending['scheduledTime'];

/** The margin killActivities gives a kill past the app's unreachableTimeout. */
const KILL_MARGIN_MS = 3 * 60_000;

function dateOf(t: Timestamp): Date | undefined {
  if (!t) return undefined;
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

/** `14:02:11 UTC` (with the date when it is not today). */
function clock(d: Date, now = new Date()): string {
  const iso = d.toISOString();
  const time = `${iso.slice(11, 19)} UTC`;
  return iso.slice(0, 10) === now.toISOString().slice(0, 10) ? time : `${iso.slice(0, 10)} ${time}`;
}

/** The input the workflow scheduled the activity `activityId` with, and when (its first try), from the history. */
async function scheduled<T>(
  client: Client,
  description: WorkflowExecutionDescription,
  activityId: string,
): Promise<{ input: T | undefined; at: Date | undefined }> {
  const history = await client.workflow.getHandle(description.workflowId, description.runId).fetchHistory();
  const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
  const event = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId);
  const payload = event?.activityTaskScheduledEventAttributes?.input?.payloads?.[0];
  const input = payload
    ? client.options.loadedDataConverter.payloadConverter.fromPayload<T>(payload)
    : undefined;
  return { input, at: dateOf(event?.eventTime) };
}

/**
 * Lines saying what a stop is waiting for, how long it may take at most and how to stop without killing; none
 * while nothing is held up (no pending activity, or one that has not failed yet).
 */
export async function stopWait(
  client: Client,
  description: WorkflowExecutionDescription,
  status: AppStatus,
  now = new Date(),
): Promise<string[]> {
  const pending: Pending[] = description.raw.pendingActivities ?? [];
  const kill = pending.find((a) => a.activityType?.name === 'killApp');
  const held = kill ?? pending.find((a) => a.lastFailure);
  if (!held || (!held.lastFailure && (held.attempt ?? 1) <= 1)) return [];
  const failure = failureChain(held.lastFailure) ?? 'no failure reported yet';
  if (!kill) {
    return [`waiting for ${held.activityType?.name ?? 'an activity'} (try ${held.attempt ?? 1}): ${failure}`];
  }
  const first = await scheduled<KillAppInput>(client, description, kill.activityId ?? '').catch(
    () => undefined,
  );
  const input = first?.input;
  const host = input?.host ?? 'its edge node';
  const what = input?.appId
    ? `YARN application ${input.appId}`
    : `any live YARN application named "${input?.appName ?? status.app}"`;
  const since = first?.at ?? dateOf(kill.scheduledTime);
  const degraded = status.degradedSince ? new Date(status.degradedSince) : undefined;
  const lines = [
    kill.lastFailure
      ? `waiting to kill ${what} on ${host}, which does not answer (since ${clock(degraded ?? since ?? now, now)}; try ${kill.attempt ?? 1}: ${failure})`
      : `waiting to kill ${what} on ${host} (try ${kill.attempt ?? 1})`,
  ];
  const deadline = dateOf(kill.expirationTime);
  if (deadline) {
    const timeout =
      since && deadline.getTime() - since.getTime() > KILL_MARGIN_MS
        ? ` (spec.yarn.unreachableTimeout ${formatDuration(Math.round((deadline.getTime() - since.getTime() - KILL_MARGIN_MS) / 1000) * 1000)} + 3m from the first try)`
        : '';
    lines.push(
      `the kill is tried until ${clock(deadline, now)}, in ${untilOf(deadline.toISOString(), now.getTime())}${timeout}; then the stop fails (phase Failed) and the YARN application may still run`,
    );
  }
  lines.push(
    `to stop without killing the YARN application: kappa stop ${status.app} --leave-running (it ends this kill and leaves the app running)`,
  );
  return lines;
}
