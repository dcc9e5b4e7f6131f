// Kubernetes clients from a kubeconfig ($KUBECONFIG, ~/.kube/config or in-cluster), built on first use so a
// worker without Kubernetes still runs its ssh steps.
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';

export interface PodLogOptions {
  follow?: boolean;
  /** RFC3339 (whole seconds): lines written at or after it. */
  sinceTime?: string;
}

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  /** The client library's Watch; a refused watch reports the API server's own Status (code, message). */
  watch: Watch;
  /**
   * GET pods/log of one container, each line prefixed with its timestamp: the open body (200), or undefined when
   * the server answers 204 No Content (the pod has no node yet). Other answers throw an error carrying the
   * HTTP status as `code` and the Status as `body`.
   */
  podLog(
    namespace: string,
    pod: string,
    container: string,
    options: PodLogOptions,
    signal: AbortSignal,
  ): Promise<Readable | undefined>;
  /**
   * Whether the API server says it is ready (`/readyz`): false while it starts (it may refuse requests before its
   * authorizer has synced), undefined when the worker may not ask.
   */
  ready(): Promise<boolean | undefined>;
}

export function kubeClients(kubeconfigPath?: string): KubeClients {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    watch: new StatusWatch(config),
    podLog: async (namespace, pod, container, options, signal) => {
      const query = new URLSearchParams({ container, timestamps: 'true' });
      if (options.follow) query.set('follow', 'true');
      if (options.sinceTime) query.set('sinceTime', options.sinceTime);
      const res = await get(
        config,
        `/api/v1/namespaces/${namespace}/pods/${pod}/log?${query.toString()}`,
        signal,
      );
      if (res.statusCode === 200) return res;
      const status = await readStatus(res);
      if (res.statusCode === 204) return undefined;
      throw httpError(res.statusCode ?? 0, status);
    },
    ready: async () => {
      try {
        const res = await get(config, '/readyz', AbortSignal.timeout(10_000));
        res.resume();
        if (res.statusCode === 401 || res.statusCode === 403) return undefined;
        return res.statusCode === 200;
      } catch {
        return false;
      }
    },
  };
}

/**
 * The library's Watch reports a refused watch as a bare `Forbidden` (it does not read the body). The API
 * server's Status says who may not do what, so the watch is asked for once more and its Status handed on as
 * `message` and `body`. Refused only once (an API server that is starting refuses until its authorizer has
 * synced), the error carries no code: it is passing trouble, not a refusal.
 */
class StatusWatch extends Watch {
  override watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(path, query, callback, (err: unknown) => {
      const code = (err as { statusCode?: unknown } | null)?.statusCode;
      if (code !== 403) return done(err);
      const first = `HTTP ${code}: ${(err as Error).message}`;
      const params = new URLSearchParams({ watch: 'true', timeoutSeconds: '1' });
      for (const [key, value] of Object.entries(query))
        if (value !== undefined) params.set(key, String(value));
      get(this.config, `${path}?${params.toString()}`, AbortSignal.timeout(10_000))
        .then(async (res) => ({ again: res.statusCode, status: await readStatus(res) }))
        .then(
          ({ again, status }) =>
            done(
              again === code
                ? httpError(code, status)
                : new Error(`${first}, then HTTP ${again} when asked again`),
            ),
          (asking: unknown) => done(new Error(`${first}; asking again failed: ${(asking as Error).message}`)),
        );
    });
  }
}

export interface KubeStatus {
  message?: string;
  reason?: string;
  code?: number;
}

function httpError(code: number, status: KubeStatus | undefined, fallback = 'request failed'): Error {
  const message = status?.message ?? fallback;
  return Object.assign(new Error(`HTTP ${code}: ${message}`), { code, statusCode: code, body: status });
}

async function get(config: KubeConfig, path: string, signal: AbortSignal): Promise<IncomingMessage> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server + path);
  const options: RequestOptions = { method: 'GET', signal };
  await config.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, options, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The body of a non-200 answer as the API server's Status (undefined when it is not one). */
function readStatus(res: IncomingMessage): Promise<KubeStatus | undefined> {
  return new Promise((resolve) => {
    if (res.statusCode === 200) {
      res.destroy();
      return resolve(undefined);
    }
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (text += chunk.slice(0, 10_000)));
    res.on('error', () => resolve(undefined));
    res.on('end', () => {
      try {
        const parsed = JSON.parse(text) as unknown;
        resolve(typeof parsed === 'object' && parsed !== null ? parsed : undefined);
      } catch {
        resolve(text.trim() ? { message: text.trim().slice(0, 500) } : undefined);
      }
    });
  });
}
