// BatchJobs live on Temporal Schedules (id `kappa/<name>`): `deploy` creates or updates the schedule, `run`
// triggers it. A BatchJob without `schedule` still gets one, with no times: it runs when triggered.
import {
  ScheduleAlreadyRunning,
  type Client,
  type ScheduleOptionsStartWorkflowAction,
  type ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import { stableJson } from '../common/stable-json.js';
import { initialSearchAttributes, WORKFLOW_TYPE, workflowId } from '../common/temporal-names.js';
import type { AppConfig, Overlap } from '../config/app-config.js';
import type { appWorkflow } from '../workflows/app-workflow.js';
import type { AppWorkflowInput } from '../workflows/definitions.js';
import { appDetails, appSummary } from '../workflows/ui-details.js';

const OVERLAP: Record<keyof typeof Overlap, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  bufferOne: 'BUFFER_ONE',
  cancelOther: 'CANCEL_OTHER',
  allowAll: 'ALLOW_ALL',
};

export type ScheduleAction = 'created' | 'updated' | 'unchanged';

export async function deploySchedule(
  client: Client,
  taskQueue: string,
  config: AppConfig,
): Promise<ScheduleAction> {
  if (config.kind !== 'BatchJob') throw new Error(`${config.metadata.name} is not a BatchJob`);
  const name = config.metadata.name;
  const schedule = config.spec.schedule;
  const spec: ScheduleSpec = schedule
    ? { cronExpressions: [schedule.cron], timezone: schedule.timezone }
    : {};
  const input: AppWorkflowInput = { config, revision: 1 };
  const action: ScheduleOptionsStartWorkflowAction<typeof appWorkflow> = {
    type: 'startWorkflow',
    workflowType: WORKFLOW_TYPE,
    workflowId: workflowId(name), // Temporal appends the run's time: kappa/<name>-<time>
    taskQueue,
    args: [input],
    typedSearchAttributes: initialSearchAttributes(name, config.kind),
    staticSummary: appSummary(config),
    staticDetails: appDetails(config),
  };
  const policies = { overlap: OVERLAP[schedule?.overlap ?? 'skip'] };
  try {
    await client.schedule.create({ scheduleId: workflowId(name), spec, action, policies });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  const handle = client.schedule.getHandle(workflowId(name));
  const current = await handle.describe();
  const running =
    current.action.type === 'startWorkflow'
      ? (current.action.args?.[0] as AppWorkflowInput | undefined)
      : undefined;
  if (running && stableJson(running.config) === stableJson(config)) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec, action, policies }));
  return 'updated';
}

/** Triggers a BatchJob now; returns the workflow id of the run it started. */
export async function triggerRun(client: Client, name: string, timeoutMs = 30_000): Promise<string> {
  const handle = client.schedule.getHandle(workflowId(name));
  const before = new Set(
    (await handle.describe()).info.recentActions.map((a) => a.action.workflow.workflowId),
  );
  await handle.trigger('ALLOW_ALL');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = (await handle.describe()).info;
    const started = [...info.runningActions, ...info.recentActions.map((a) => a.action)]
      .map((a) => a.workflow.workflowId)
      .find((id) => !before.has(id));
    if (started) return started;
    if (Date.now() > deadline)
      throw new Error(`the schedule ${workflowId(name)} started no run within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
