// One pod's changes, through the client library's own list-watch (ListWatch: a field selector on the pod's name,
// a re-list on 410 Gone, a watch resumed from the last resourceVersion). What it leaves to its caller is done
// here: an error stops it, so it is started again after a backoff (exponential, capped), and a refusal (403)
// ends the watch for good with the API server's words.
import { ADD, CONNECT, DELETE, ERROR, ListWatch, UPDATE, type V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../common/duration.js';
import type { StepContext } from '../ports.js';
import type { KubeClients } from './clients.js';
import { OwnedWatch } from './owned-watch.js';
import { forbidden, serverMessage, statusCode } from './pod-api.js';

export interface PodWatchHandlers {
  /** The pod as last seen (from a list or a watch event). */
  pod(pod: V1Pod): void;
  /** The pod is gone: a DELETED event, or a list without it. */
  gone(): void;
  /** The watch cannot go on (the worker may not list or watch pods): a non-retryable failure. */
  fatal(err: Error): void;
}

export interface PodWatchOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A connection that lasted this long without an error resets the backoff. */
const HEALTHY_MS = 10_000;
/** Without the API server's word that it is ready, a refusal is final only once it has lasted this long. */
const REFUSAL_MS = 5_000;

export class PodWatch {
  private readonly owned: OwnedWatch;
  private readonly informer: ListWatch<V1Pod>;
  private stopped = false;
  private delayMs: number;
  private connectedAt = 0;
  /** Since when every try has been refused (403). */
  private refusedSince: number | undefined;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly kube: KubeClients,
    private readonly namespace: string,
    private readonly name: string,
    private readonly ctx: StepContext,
    private readonly handlers: PodWatchHandlers,
    private readonly options: PodWatchOptions = {},
  ) {
    this.delayMs = options.initialBackoffMs ?? 500;
    const fieldSelector = `metadata.name=${name}`;
    const list = async () => {
      const pods = await kube.core.listNamespacedPod({ namespace, fieldSelector });
      if (!this.stopped && pods.items.length === 0) handlers.gone();
      return pods;
    };
    this.owned = new OwnedWatch(kube);
    this.informer = new ListWatch<V1Pod>(
      `/api/v1/namespaces/${namespace}/pods`,
      this.owned.watch,
      list,
      false,
      undefined,
      fieldSelector,
    );
    const seen = (pod: V1Pod) => {
      this.refusedSince = undefined;
      if (!this.stopped) handlers.pod(pod);
    };
    this.informer.on(ADD, seen);
    this.informer.on(UPDATE, seen);
    this.informer.on(DELETE, () => !this.stopped && handlers.gone());
    this.informer.on(CONNECT, () => (this.connectedAt = Date.now()));
    this.informer.on(ERROR, (err: unknown) => this.failed(err));
  }

  start(): void {
    void this.informer.start();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.owned.stop();
    void this.informer.stop();
  }

  /**
   * ListWatch stops at an error: a refusal (403) ends the watch, anything else is tried again after a backoff. An
   * API server that is starting refuses requests for a moment, until its authorizer has synced (seen after a
   * restart): a refusal is final when the server says it is ready (`/readyz`), or, when it will not say, once
   * every try has been refused for 5 s.
   */
  private failed(err: unknown): void {
    if (this.stopped) return;
    const healthy = Date.now() - this.connectedAt >= HEALTHY_MS;
    if (statusCode(err) !== 403) {
      this.refusedSince = undefined;
      return this.again(serverMessage(err), healthy);
    }
    if (healthy || this.refusedSince === undefined) this.refusedSince = Date.now();
    const since = this.refusedSince;
    void this.kube.ready().then((ready) => {
      if (this.stopped) return;
      if (ready === true || (ready === undefined && Date.now() - since >= REFUSAL_MS)) {
        this.stop();
        this.handlers.fatal(forbidden(`watch pod ${this.namespace}/${this.name}: ${serverMessage(err)}`));
      } else {
        const why = ready === false ? 'the API server is not ready' : 'refused for less than 5s';
        this.again(`${serverMessage(err)}; not final: ${why}`, healthy);
      }
    });
  }

  private again(problem: string, healthy: boolean): void {
    if (healthy) this.delayMs = this.options.initialBackoffMs ?? 500;
    const delay = this.delayMs;
    this.delayMs = Math.min(delay * 2, this.options.maxBackoffMs ?? 30_000);
    this.ctx.log(
      `watch of pod ${this.namespace}/${this.name} failed (${problem}); retrying in ${formatDuration(delay)}`,
    );
    this.retry = setTimeout(() => !this.stopped && void this.informer.start(), delay);
  }
}
