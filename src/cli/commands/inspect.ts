// `kappa status [APP] [--json]` and `kappa list [--json]`
import { SearchAttribute, WORKFLOW_TYPE } from '../../common/temporal-names.js';
import { ageOf, readAppStatus, table } from '../app-status.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../errors.js';

export interface AppListItem {
  app: string;
  kind: string | null;
  phase: string | null;
  restarts: number | null;
  yarnAppId: string | null;
  workflowId: string;
  execution: string;
  startedAt: string;
  /** What is happening now (`status`'s `now`), for apps that need a look; `-` for the others. */
  now: string;
}

/** Phases worth a closer look in `kappa list`: the app is not simply running, and not over. */
const NEEDS_A_LOOK = new Set(['Starting', 'Degraded', 'BackingOff', 'Stopping']);
/** Apps described at once by `kappa list` (each is a describe and a query). */
const LOOKS_AT_ONCE = 8;

/** The newest execution of every app, from Temporal's visibility store (search attributes, no queries). */
export async function listApps(ctx: CliContext): Promise<AppListItem[]> {
  const client = await ctx.client();
  const seen = new Map<string, AppListItem>();
  for await (const wf of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}'` })) {
    const attrs = wf.typedSearchAttributes;
    const item: AppListItem = {
      app: attrs.get(SearchAttribute.KappaApp) ?? wf.workflowId.replace(/^kappa\//, ''),
      kind: attrs.get(SearchAttribute.KappaKind) ?? null,
      phase: attrs.get(SearchAttribute.KappaPhase) ?? null,
      restarts: attrs.get(SearchAttribute.KappaRestarts) ?? null,
      yarnAppId: attrs.get(SearchAttribute.KappaYarnAppId) || null,
      workflowId: wf.workflowId,
      execution: wf.status.name,
      startedAt: wf.startTime.toISOString(),
      now: '-',
    };
    const other = seen.get(wf.workflowId);
    if (!other || other.startedAt < item.startedAt) seen.set(wf.workflowId, item);
  }
  const apps = [...seen.values()].sort((a, b) => a.app.localeCompare(b.app));
  const toLook = apps.filter((a) => a.execution === 'RUNNING' && NEEDS_A_LOOK.has(a.phase ?? ''));
  for (let i = 0; i < toLook.length; i += LOOKS_AT_ONCE) {
    await Promise.all(
      toLook.slice(i, i + LOOKS_AT_ONCE).map(async (item) => {
        try {
          const { handle, description } = await ctx.appHandle(item.app);
          item.now = (await readAppStatus(handle, description)).now;
        } catch (err) {
          item.now = `cannot tell: ${(err as Error).message}`;
        }
      }),
    );
  }
  return apps;
}

export async function listCommand(ctx: CliContext, options: { json?: boolean }): Promise<number> {
  const apps = await listApps(ctx);
  if (options.json) {
    console.log(JSON.stringify(apps, null, 2));
  } else if (apps.length === 0) {
    console.log('no apps');
  } else {
    const rows = [['APP', 'KIND', 'PHASE', 'RESTARTS', 'YARN APP', 'WORKFLOW', 'NOW']];
    for (const a of apps) {
      rows.push([
        a.app,
        a.kind ?? '-',
        a.phase ?? '-',
        String(a.restarts ?? '-'),
        a.yarnAppId ?? '-',
        a.execution,
        a.now,
      ]);
    }
    console.log(table(rows));
  }
  return ExitCode.ok;
}

export async function statusCommand(
  ctx: CliContext,
  app: string | undefined,
  options: { json?: boolean },
): Promise<number> {
  if (app === undefined) return listCommand(ctx, options);
  const { handle, description } = await ctx.appHandle(app);
  const status = await readAppStatus(handle, description);
  if (options.json) {
    console.log(JSON.stringify(status, null, 2));
    return ExitCode.ok;
  }
  const uptime = status.runningSince ? ageOf(status.runningSince) : '-';
  const lines = [
    `app:            ${status.app} (${status.kind})`,
    `phase:          ${status.phase}${status.step ? ` (step ${status.step})` : ''}${
      status.acceptedSince
        ? ` (YARN shows it ACCEPTED for ${ageOf(status.acceptedSince)}, not RUNNING yet)`
        : ''
    }`,
    `revision:       ${status.revision}`,
    `restarts:       ${status.restarts} (total ${status.totalRestarts})`,
    `yarn app:       ${status.yarnAppId ?? '-'}`,
    `uptime:         ${uptime}`,
    `last heartbeat: ${status.lastHeartbeatAt ? `${ageOf(status.lastHeartbeatAt)} ago` : '-'}`,
    `now:            ${status.now}`,
    `last error:     ${status.lastError ?? '-'}`,
    `workflow:       ${status.workflowId} (${status.execution})`,
  ];
  console.log(lines.join('\n'));
  if (status.attempts.length > 0) {
    console.log('\nrecent attempts:');
    const rows = [['#', 'REV', 'FROM', 'STARTED', 'OUTCOME', 'YARN APP', 'REASON / ERROR']];
    for (const a of status.attempts.slice(-5)) {
      rows.push([
        String(a.attempt),
        String(a.revision),
        a.from,
        `${ageOf(a.startedAt)} ago`,
        a.outcome ?? 'in progress',
        a.yarnAppId ?? '-',
        a.error ?? a.reason,
      ]);
    }
    console.log(table(rows));
  }
  return ExitCode.ok;
}
