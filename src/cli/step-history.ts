// The steps an app's workflow ran, read back from its history: each runStep activity's input (which step, which
// attempt), how it ended and the output tail Kappa kept (a step's result, or its failure's details), plus what a
// still running step's heartbeat names (its pod). Also the edge node and YARN applications the activities were
// about. Runs continued-as-new are followed back until one ran a step.
import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { RunStepInput, RunStepResult } from '../activities/types.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;
type Timestamp = temporal.api.history.v1.IHistoryEvent['eventTime'];

/** How a step's activity stands: still running (or being retried), or how it ended. */
export type StepState = 'running' | 'succeeded' | 'failed' | 'timedOut' | 'cancelled';

export interface StepRun {
  input: RunStepInput;
  /** The workflow run that ran it (pod names are made from it). */
  runId: string;
  state: StepState;
  scheduledAt: Date | undefined;
  endedAt: Date | undefined;
  /** The last lines of its output as Kappa kept them ('' when none). */
  outputTail: string;
  /** The failure's message (with the cause lines Kappa found), when it failed. */
  error: string | undefined;
  /** The pod the step's heartbeat or failure names: the one to read logs from. */
  pod: { namespace: string; name: string } | undefined;
  yarnAppId: string | undefined;
}

export interface AppHistory {
  /** Oldest first; the last one is the app's last step. */
  steps: StepRun[];
  /** The edge node of the latest activity that named one (the app's spec.yarn.host). */
  host: string | undefined;
  /** YARN applications the steps submitted or supervision found, oldest first. */
  yarnAppIds: string[];
}

/** Runs continued-as-new are followed back this far for a step. */
const MAX_RUNS = 5;

export async function readAppHistory(
  client: Client,
  description: WorkflowExecutionDescription,
): Promise<AppHistory> {
  const history: AppHistory = { steps: [], host: undefined, yarnAppIds: [] };
  let runId: string | undefined = description.runId;
  for (let runs = 0; runId && runs < MAX_RUNS && history.steps.length === 0; runs++) {
    const handle = client.workflow.getHandle(description.workflowId, runId);
    const events: HistoryEvent[] = (await handle.fetchHistory()).events ?? [];
    const pending = runs === 0 ? (description.raw.pendingActivities ?? []) : [];
    const older = readRun(client, runId, events, pending);
    history.steps = older.steps;
    history.host ??= older.host;
    history.yarnAppIds = [...older.yarnAppIds, ...history.yarnAppIds];
    const started = events[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
  }
  return history;
}

type Pending = NonNullable<WorkflowExecutionDescription['raw']['pendingActivities']>[number];

function readRun(client: Client, runId: string, events: HistoryEvent[], pending: Pending[]): AppHistory {
  const decode = <T>(payloads: Payloads): T | undefined => {
    const payload = payloads?.payloads?.[0];
    if (!payload) return undefined;
    return client.options.loadedDataConverter.payloadConverter.fromPayload<T>(payload);
  };
  const steps = new Map<number, StepRun & { activityId: string }>();
  const yarnAppIds: string[] = [];
  let host: string | undefined;
  const step = (scheduledEventId: unknown) => steps.get(Number(scheduledEventId));
  for (const event of events) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const input = decode<Partial<RunStepInput>>(scheduled.input);
      if (typeof input?.host === 'string') host = input.host;
      if (scheduled.activityType?.name === 'runStep' && input?.step) {
        steps.set(Number(event.eventId), {
          input: input as RunStepInput,
          activityId: scheduled.activityId ?? '',
          runId,
          state: 'running',
          scheduledAt: dateOf(event.eventTime),
          endedAt: undefined,
          outputTail: '',
          error: undefined,
          pod: undefined,
          yarnAppId: undefined,
        });
      }
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const done = completed && step(completed.scheduledEventId);
    if (done) {
      const result = decode<RunStepResult>(completed.result);
      Object.assign(done, { state: 'succeeded', endedAt: dateOf(event.eventTime) });
      done.outputTail = result?.outputTail ?? '';
      done.yarnAppId = result?.yarnAppId;
      if (result?.yarnAppId) yarnAppIds.push(result.yarnAppId);
    } else if (completed) {
      // awaitApp's report, findLiveApps' list: the YARN applications the app ran as.
      for (const id of appIdsIn(decode<unknown>(completed.result))) yarnAppIds.push(id);
    }
    const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
    const failedStep = failed && step(failed.scheduledEventId);
    if (failedStep && failed) {
      failedStep.state = event.activityTaskFailedEventAttributes ? 'failed' : 'timedOut';
      failedStep.endedAt = dateOf(event.eventTime);
      failedStep.error = failed.failure?.message ?? undefined;
      const details = decode<FailureDetails>(failed.failure?.applicationFailureInfo?.details);
      failedStep.outputTail = details?.outputTail ?? details?.logTail ?? '';
      if (details?.pod && details.namespace)
        failedStep.pod = { namespace: details.namespace, name: details.pod };
    }
    const cancelled = event.activityTaskCanceledEventAttributes;
    const cancelledStep = cancelled && step(cancelled.scheduledEventId);
    if (cancelledStep) Object.assign(cancelledStep, { state: 'cancelled', endedAt: dateOf(event.eventTime) });
  }
  for (const activity of pending) {
    const running = [...steps.values()].find((s) => s.activityId === activity.activityId);
    const details = decode<FailureDetails>(activity.heartbeatDetails);
    if (running && details?.pod && details.namespace) {
      running.pod = { namespace: details.namespace, name: details.pod };
    }
  }
  return { steps: [...steps.values()], host, yarnAppIds: [...new Set(yarnAppIds)] };
}

/** What a step's failure (and a pod step's heartbeat) carries: ssh-step-runner.ts and pod-step-runner.ts. */
interface FailureDetails {
  outputTail?: string;
  logTail?: string;
  pod?: string;
  namespace?: string;
}

/** YARN application ids in an activity's result: a report `{ id }` or a list of them. */
function appIdsIn(result: unknown): string[] {
  const reports = Array.isArray(result) ? (result as unknown[]) : [result];
  return reports.flatMap((r) => {
    const id = (r as { id?: unknown } | null)?.id;
    return typeof id === 'string' && id.startsWith('application_') ? [id] : [];
  });
}

function dateOf(t: Timestamp): Date | undefined {
  if (!t) return undefined;
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}
