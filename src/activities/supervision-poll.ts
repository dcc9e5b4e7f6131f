// One supervision poll, judged without I/O: whether the supervised app moved between RUNNING and
// SUBMITTED/ACCEPTED, and whether a poll changes nothing at all for the supervision (the host poller then passes it
// over instead of waking the supervision: a thousand apps of a host, a thousand wakeups per poll).
import type { LiveSnapshot } from '../ports.js';
import { appById, appsNamed } from '../yarn/app-index.js';
import type { YarnAppReport } from '../yarn/model.js';
import type { SuperviseInput, SupervisionOutcome } from './types.js';

/**
 * Whether the supervised app moved between RUNNING and SUBMITTED/ACCEPTED, or stayed ACCEPTED too long: `Running`
 * means YARN says RUNNING. Nothing for inputs of older releases (no `acceptedTimeoutMs`).
 */
export function acceptedChange(
  input: SuperviseInput,
  app: YarnAppReport,
  polledAt: number,
): SupervisionOutcome | undefined {
  if (input.acceptedTimeoutMs === undefined) return undefined;
  const waiting = app.state !== 'RUNNING';
  if (!waiting) return input.acceptedSince === undefined ? undefined : { kind: 'running' };
  if (input.acceptedSince === undefined) return { kind: 'accepted', since: polledAt, state: app.state };
  return Date.now() - input.acceptedSince >= input.acceptedTimeoutMs
    ? { kind: 'notRunning', report: app }
    : undefined;
}

/**
 * Whether this poll changes nothing for the supervision: the app listed and as it was (no move between RUNNING
 * and ACCEPTED, not ACCEPTED too long), no other live instance of its name, the edge node not in doubt, no model
 * service to look at, not cancelled. Anything else wakes the supervision, which decides as before.
 */
export function quietPoll(
  input: SuperviseInput,
  snapshot: LiveSnapshot,
  { aborted, services }: { aborted: boolean; services: boolean },
): boolean {
  if (aborted || services || input.degradedSince !== undefined || !('apps' in snapshot)) return false;
  const own = appById(snapshot.apps, input.appId);
  if (!own || acceptedChange(input, own, snapshot.startedAt) !== undefined) return false;
  return appsNamed(snapshot.apps, input.appName).every((app) => app.id === input.appId);
}
