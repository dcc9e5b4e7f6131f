// The keeper of a supervised model service: asked once per supervision poll, it answers from the shared watch
// (service-health.ts), puts a Deployment or a Service deleted behind Kappa's back there again, and says why the
// service has been unavailable once that has lasted too long (the pods are listed only then).
import { formatDuration } from '../common/duration.js';
import type { KubeClients } from './clients.js';
import { applyService, readDeployment, readRollout, type ServiceObjects } from './service-api.js';
import { statusCode } from './pod-api.js';
import type { ServiceHealth } from './service-health.js';
import { explainRollout } from './service-judge.js';

export type KeeperReport =
  | { kind: 'ok'; unavailableSince?: number }
  | { kind: 'recreated'; reason: string }
  | { kind: 'unavailable'; since: number; reason: string };

export interface ServiceKeeperOptions {
  /**
   * How often a service's Service object is looked for (one GET; the watch follows Deployments only): a Service
   * deleted alone leaves the pods running and the stream unable to reach them. Default 60 s.
   */
  serviceCheckMs?: number;
}

/** What a supervision poll asks about its app's service: keeps it there, and says when it is down too long. */
export class ServiceKeeper {
  /** When each service's Service was last seen, by `namespace/name`. */
  private readonly serviceSeenAt = new Map<string, number>();

  constructor(
    private readonly kube: () => KubeClients,
    private readonly health: ServiceHealth,
    private readonly options: ServiceKeeperOptions = {},
  ) {}

  /**
   * Missing (confirmed by one GET, the cache may lag a fresh apply): applied again, `recreated`. Unavailable for
   * longer than `unavailableTimeoutMs`: `unavailable`, with the judge's reason from the Deployment's pods (listed
   * only then). Otherwise `ok`, with since when it is unavailable if it is.
   */
  async check(objects: ServiceObjects, unavailableTimeoutMs: number): Promise<KeeperReport> {
    const { namespace, name } = objects;
    const state = await this.health.health(namespace, name);
    const kube = this.kube();
    if (state.kind !== 'missing' && !(await this.serviceThere(kube, objects))) {
      await applyService(kube, objects);
      return { kind: 'recreated', reason: `Service ${namespace}/${name} was missing; applied it again` };
    }
    if (state.kind === 'available') return { kind: 'ok' };
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

  /** Whether the Service is there: asked of the API server at most once per `serviceCheckMs` per service. */
  private async serviceThere(kube: KubeClients, { namespace, name }: ServiceObjects): Promise<boolean> {
    const key = `${namespace}/${name}`;
    const now = Date.now();
    if (now - (this.serviceSeenAt.get(key) ?? 0) < (this.options.serviceCheckMs ?? 60_000)) return true;
    try {
      await kube.core.readNamespacedService({ namespace, name });
    } catch (err) {
      if (statusCode(err) === 404) return false;
      // Not known (the API server restarting, say): taken as there until the next check asks again.
    }
    this.serviceSeenAt.set(key, now);
    return true;
  }
}
