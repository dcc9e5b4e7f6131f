// The client's Watch as ListWatch calls it, owned by the one watch that uses it: ListWatch may open a request after
// its own stop() (a list was in flight), and its stop() does not abort what is open.
import type { Watch } from '@kubernetes/client-node';
import type { KubeClients } from './clients.js';

type WatchCallback = (phase: string, obj: unknown, watchObj?: unknown) => void;
type WatchQuery = Record<string, string | number | boolean | undefined>;

/** Nothing is opened once stopped, every open request is aborted on stop, and a stopped watch's end is not reported. */
export class OwnedWatch {
  /** What ListWatch takes in place of the client's Watch. */
  readonly watch: Watch;
  private readonly open = new Set<AbortController>();
  private stopped = false;

  constructor(kube: KubeClients) {
    const watch = async (
      path: string,
      query: WatchQuery,
      callback: WatchCallback,
      done: (err: unknown) => void,
    ): Promise<AbortController> => {
      if (this.stopped) {
        const aborted = new AbortController();
        aborted.abort();
        return aborted;
      }
      // `done` may come before the request is handed back (a refused or failed connection).
      const call: { request?: AbortController; ended?: boolean } = {};
      call.request = await kube.watch.watch(path, query, callback, (err: unknown) => {
        call.ended = true;
        if (call.request) this.open.delete(call.request);
        if (!this.stopped) done(err);
      });
      if (this.stopped) call.request.abort();
      else if (!call.ended) this.open.add(call.request);
      return call.request;
    };
    this.watch = { config: kube.config, watch };
  }

  stop(): void {
    this.stopped = true;
    for (const request of this.open) request.abort();
    this.open.clear();
  }
}
