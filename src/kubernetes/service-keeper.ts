// The keeper of a supervised model service: asked once per supervision poll, it answers from the shared watch
// (service-health.ts), puts a Deployment deleted behind Kappa's back there again, and says why the service has
// been unavailable once that has lasted too long (the pods are listed only then).
import { formatDuration } from '../common/duration.js';
import type { KubeClients } from './clients.js';
import { applyService, readDeployment, readRollout, type ServiceObjects } from './service-api.js';
import type { ServiceHealth } from './service-health.js';
import { explainRollout } from './service-judge.js';

export type KeeperReport =
  | { kind: 'ok'; unavailableSince?: number }
  | { kind: 'recreated'; reason: string }
  | { kind: 'unavailable'; since: number; reason: string };

/** What a supervision poll asks about its app's service: keeps it there, and says when it is down too long. */
export class ServiceKeeper {
  constructor(
    private readonly kube: () => KubeClients,
    private readonly health: ServiceHealth,
  ) {}

  /**
   * Missing (confirmed by one GET, the cache may lag a fresh apply): applied again, `recreated`. Unavailable for
   * longer than `unavailableTimeoutMs`: `unavailable`, with the judge's reason from the Deployment's pods (listed
   * only then). Otherwise `ok`, with since when it is unavailable if it is.
   */
  async check(objects: ServiceObjects, unavailableTimeoutMs: number): Promise<KeeperReport> {
    const { namespace, name } = objects;
    const state = await this.health.health(namespace, name);
    if (state.kind === 'available') return { kind: 'ok' };
    const kube = this.kube();
    if (state.kind === 'missing' && !(await readDeployment(kube, namespace, name))) {
      await applyService(kube, objects);
      return { kind: 'recreated', reason: `Deployment ${namespace}/${name} was missing; applied it again` };
    }
    if (state.kind === 'missing') return { kind: 'ok' };
    const now = Date.now();
    if (now - state.since < unavailableTimeoutMs) return { kind: 'ok', unavailableSince: state.since };
    const view = await readRollout(kube, namespace, name, objects.selector);
    const reason = view ? explainRollout(view, now) : `Deployment ${namespace}/${name} is gone`;
    return {
      kind: 'unavailable',
      since: state.since,
      reason: `unavailable for ${formatDuration(Math.floor((now - state.since) / 1000) * 1000)}: ${reason}`,
    };
  }
}
