// Model services under supervision: one shared watch of Kappa's Deployments per namespace (the client library's
// ListWatch, an informer cache: a list, then a watch from its resourceVersion, a re-list on 410 Gone), so the
// health of any number of services is a map lookup. The keeper (service-keeper.ts) asks it once per poll.
import { ADD, CONNECT, DELETE, ERROR, ListWatch, UPDATE, type V1Deployment } from '@kubernetes/client-node';
import { formatDuration } from '../common/duration.js';
import type { KubeClients } from './clients.js';
import { OwnedWatch } from './owned-watch.js';
import { forbidden, serverMessage, statusCode } from './pod-api.js';
import { appsApi } from './service-api.js';
import { deploymentName } from './service-judge.js';
import { MANAGED_BY, ServiceLabel } from './service-manifest.js';

/** What the watch selects: every object Kappa applies carries this label (service-manifest.ts). */
export const MANAGED_BY_SELECTOR = `${ServiceLabel.managedBy}=${MANAGED_BY}`;

export type ServiceHealthState =
  { kind: 'available' } | { kind: 'unavailable'; since: number; reason: string } | { kind: 'missing' };

export interface ServiceHealthOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long `health` waits for a namespace's first list before it throws (default 30 s). */
  syncTimeoutMs?: number;
  log?: (message: string) => void;
}

/** A connection that lasted this long without an error resets the backoff. */
const HEALTHY_MS = 10_000;
/** Without the API server's word that it is ready, a refusal is final only once it has lasted this long. */
const REFUSAL_MS = 5_000;

/** The health of Kappa's Deployments, from one watch per namespace shared by every caller. */
export class ServiceHealth {
  private readonly caches = new Map<string, DeploymentCache>();

  constructor(
    private readonly kube: () => KubeClients,
    private readonly options: ServiceHealthOptions = {},
  ) {}

  /**
   * Whether Deployment `name` in `namespace` is there and has an available replica (the service answers), from
   * the cache: no API call once the namespace is listed. Unavailable says since when and the controller's
   * reason. Throws while the namespace cannot be listed (a NotConfigured failure when the worker may not list or
   * watch deployments there).
   */
  async health(namespace: string, name: string): Promise<ServiceHealthState> {
    let cache = this.caches.get(namespace);
    if (!cache)
      this.caches.set(namespace, (cache = new DeploymentCache(this.kube(), namespace, this.options)));
    await cache.synced(this.options.syncTimeoutMs ?? 30_000);
    const d = cache.get(name);
    return d ? healthOf(d, cache.unavailableSince(name)) : { kind: 'missing' };
  }

  /** Stops every watch. */
  stop(): void {
    for (const cache of this.caches.values()) cache.stop();
    this.caches.clear();
  }
}

/**
 * A Deployment's health from its own status: unavailable while no replica is available (none of its pods ready
 * for `minReadySeconds`), so nothing answers behind the Service; a few replicas down is not unavailable. Since
 * when: `since` (when the watch saw the last one go) or else the object's own word, the Available condition's
 * last transition (for one replica the same moment; for more, when it fell below its minimum) or its creation.
 */
export function healthOf(d: V1Deployment, since?: number): ServiceHealthState {
  const name = deploymentName(d);
  if (d.metadata?.deletionTimestamp) {
    return {
      kind: 'unavailable',
      since: time(d.metadata.deletionTimestamp),
      reason: `${name} is being deleted`,
    };
  }
  const want = d.spec?.replicas ?? 1;
  const available = d.status?.availableReplicas ?? 0;
  if (available > 0 || want === 0) return { kind: 'available' };
  const condition = d.status?.conditions?.find((c) => c.type === 'Available');
  const why = condition
    ? `${condition.reason ?? condition.type}${condition.message ? `: ${condition.message}` : ''}`
    : 'no Available condition yet';
  return {
    kind: 'unavailable',
    since: since ?? ownSince(d),
    reason: `${name}: no available replica (0/${want}): ${why}`,
  };
}

/** Since when the object itself says it is unavailable. */
function ownSince(d: V1Deployment): number {
  const condition = d.status?.conditions?.find((c) => c.type === 'Available');
  const at = time(
    condition?.status === 'False' ? condition.lastTransitionTime : d.metadata?.creationTimestamp,
  );
  return Number.isNaN(at) ? Date.now() : at;
}

/** A timestamp from the typed client (a Date) or from a watch event (an RFC 3339 string). */
function time(t: Date | string | undefined): number {
  return t === undefined ? NaN : new Date(t).getTime();
}

class DeploymentCache {
  private readonly owned: OwnedWatch;
  private readonly informer: ListWatch<V1Deployment>;
  private readonly waiters = new Set<() => void>();
  /** Since when each Deployment has had no available replica, as the watch saw it go. */
  private readonly zeroSince = new Map<string, number>();
  private listed = false;
  private stopped = false;
  private refusal: Error | undefined;
  private problem: string | undefined;
  private delayMs: number;
  private connectedAt = 0;
  private refusedSince: number | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: KubeClients,
    private readonly namespace: string,
    private readonly options: ServiceHealthOptions,
  ) {
    this.delayMs = options.initialBackoffMs ?? 500;
    const list = async () => {
      const deployments = await appsApi(kube).listNamespacedDeployment({
        namespace,
        labelSelector: MANAGED_BY_SELECTOR,
      });
      // ListWatch fills its cache from the list right after this resolves, in the same job: answer after it.
      setImmediate(() => this.synced_());
      return deployments;
    };
    this.owned = new OwnedWatch(kube);
    this.informer = new ListWatch<V1Deployment>(
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      this.owned.watch,
      list,
      false,
      MANAGED_BY_SELECTOR,
    );
    const seen = (d: V1Deployment) => {
      this.refusedSince = undefined;
      const name = d.metadata?.name ?? '';
      if (healthOf(d).kind === 'available') this.zeroSince.delete(name);
      // Seen in the first list: it went before the worker looked; the object's own word says when.
      else if (!this.zeroSince.has(name)) this.zeroSince.set(name, this.listed ? Date.now() : ownSince(d));
    };
    this.informer.on(ADD, seen);
    this.informer.on(UPDATE, seen);
    this.informer.on(DELETE, (d: V1Deployment) => {
      this.refusedSince = undefined;
      this.zeroSince.delete(d.metadata?.name ?? '');
    });
    this.informer.on(CONNECT, () => (this.connectedAt = Date.now()));
    this.informer.on(ERROR, (err: unknown) => this.failed(err));
    void this.informer.start();
  }

  get(name: string): V1Deployment | undefined {
    return this.informer.get(name, this.namespace);
  }

  unavailableSince(name: string): number | undefined {
    return this.zeroSince.get(name);
  }

  /** Resolves once the namespace has been listed; throws its refusal, or after `timeoutMs` the last problem. */
  async synced(timeoutMs: number): Promise<void> {
    if (this.refusal) throw this.refusal;
    if (this.listed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.add(done);
    });
    const refusal = this.refusal as Error | undefined; // set meanwhile, by failed()
    if (refusal) throw refusal;
    if (!this.listed) {
      throw new Error(
        `deployments in ${this.namespace} not listed within ${formatDuration(timeoutMs)}` +
          (this.problem ? `: ${this.problem}` : ''),
      );
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.owned.stop();
    void this.informer.stop();
    this.wake();
  }

  private synced_(): void {
    this.listed = true;
    this.refusal = undefined;
    this.problem = undefined;
    this.wake();
  }

  private wake(): void {
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  /**
   * ListWatch stops at an error: it is started again after a backoff (exponential, capped; never a hot loop).
   * A refusal (403) is final when the API server says it is ready, or, when it will not say, once every try has
   * been refused for 5 s (a starting API server refuses until its authorizer has synced); the watch keeps
   * trying at the longest backoff, so a fixed Role is picked up, and `health` throws the refusal meanwhile.
   */
  private failed(err: unknown): void {
    if (this.stopped) return;
    const healthy = Date.now() - this.connectedAt >= HEALTHY_MS;
    if (healthy) this.delayMs = this.options.initialBackoffMs ?? 500;
    this.problem = serverMessage(err);
    if (statusCode(err) !== 403) {
      this.refusedSince = undefined;
      return this.again();
    }
    if (healthy || this.refusedSince === undefined) this.refusedSince = Date.now();
    const since = this.refusedSince;
    void this.kube.ready().then((ready) => {
      if (this.stopped) return;
      if (ready === true || (ready === undefined && Date.now() - since >= REFUSAL_MS)) {
        this.refusal = forbidden(`list/watch deployments.apps in ${this.namespace}: ${this.problem}`);
        this.delayMs = this.options.maxBackoffMs ?? 30_000;
        this.wake();
      }
      this.again();
    });
  }

  private again(): void {
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, this.options.maxBackoffMs ?? 30_000);
    this.options.log?.(
      `watch of deployments in ${this.namespace} failed (${this.problem}); retrying in ${formatDuration(delay)}`,
    );
    this.retry = setTimeout(() => !this.stopped && void this.informer.start(), delay);
  }
}

export { ServiceKeeper, type KeeperReport } from './service-keeper.js';
