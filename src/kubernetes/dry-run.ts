// Server-side dry runs (`dryRun=All`, `fieldValidation=Strict`), as `kubectl apply --dry-run=server` sends them:
// the cluster's validation, admission (ServiceAccount, PodSecurity, quotas, webhooks) and authorization judge an
// object without storing it. The object goes out as raw JSON, exactly as built: @kubernetes/client-node's typed
// models drop fields they do not know before sending, so through them Strict would never see an unknown field.
import { existsSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const REQUEST_TIMEOUT_MS = 30_000;

/** No kubeconfig anywhere, or one that cannot be read: a config error, not a refusal. */
export class KubeConfigMissing extends Error {
  override name = 'KubeConfigMissing';
}

/**
 * The kubeconfig the worker uses (src/kubernetes/clients.ts): `kubeconfigPath`, else $KUBECONFIG, else
 * ~/.kube/config, else the in-cluster service account. Unlike the client library, never falls back to
 * http://localhost:8080 when there is none.
 */
export function loadKubeConfig(kubeconfigPath?: string): KubeConfig {
  const config = new KubeConfig();
  const found =
    kubeconfigPath !== undefined ||
    !!process.env.KUBECONFIG ||
    existsSync(join(homedir(), '.kube', 'config')) ||
    existsSync(IN_CLUSTER_TOKEN);
  if (!found) {
    throw new KubeConfigMissing(
      'no kubeconfig: set $KUBECONFIG, write ~/.kube/config, or run in a pod with a service account',
    );
  }
  try {
    if (kubeconfigPath !== undefined) config.loadFromFile(kubeconfigPath);
    else config.loadFromDefault();
  } catch (err) {
    throw new KubeConfigMissing(`cannot read the kubeconfig: ${(err as Error).message}`);
  }
  if (!config.getCurrentCluster())
    throw new KubeConfigMissing('the kubeconfig has no current context or cluster');
  return config;
}

/** The server the kubeconfig points at, and as whom: for messages. */
export function kubeTarget(config: KubeConfig): string {
  const server = config.getCurrentCluster()?.server ?? '(no cluster)';
  const context = config.getCurrentContext();
  return context ? `${server} (context ${context})` : server;
}

export interface DryRunVerdict {
  accepted: boolean;
  /** The HTTP status: 201 created / 200 applied when accepted; 400, 403, 409, 422 … when refused. */
  status: number;
  /** The text of each `Warning` header the server sent (PodSecurity `warn`, deprecations, …). */
  warnings: string[];
  /** Refused: `403 Forbidden: <the server's message>`; accepted: empty. */
  message: string;
  /** Accepted: the object as the server would have stored it (defaults filled in, admission applied). */
  object?: KubernetesObject;
}

export type DryRunMode =
  /** POST to the collection, what Kappa does with a pod: refused (409) if one of that name exists. */
  | 'create'
  /** Server-side apply (PATCH application/apply-patch+yaml, force), what `kubectl apply --server-side` does. */
  | 'apply';

export interface DryRunOptions {
  mode?: DryRunMode;
  /** Who the fields would belong to (server-side apply). */
  fieldManager?: string;
}

/**
 * Sends `object` (raw JSON, as built) to the cluster as a strict server-side dry run and returns the server's
 * verdict. Only transport failures (server unreachable, TLS, credentials that cannot be obtained) and a kind the
 * server does not serve throw.
 */
export async function dryRun(
  config: KubeConfig,
  object: KubernetesObject,
  options: DryRunOptions = {},
): Promise<DryRunVerdict> {
  const mode = options.mode ?? 'create';
  const fieldManager = options.fieldManager ?? 'kappa';
  const { apiVersion, kind } = object;
  const name = object.metadata?.name;
  if (!apiVersion || !kind) throw new Error('an object without apiVersion or kind');
  if (mode === 'apply' && !name)
    throw new Error(`${kind} without metadata.name: server-side apply needs one`);
  const resource = await discover(config, apiVersion, kind);
  const namespace = resource.namespaced
    ? (object.metadata?.namespace ?? defaultNamespace(config))
    : undefined;
  const collection = `${apiPrefix(apiVersion)}${namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''}/${resource.name}`;
  const params = new URLSearchParams({ dryRun: 'All', fieldValidation: 'Strict' });
  if (mode === 'apply') params.set('force', 'true');
  params.set('fieldManager', fieldManager);
  const query = params.toString();
  const response =
    mode === 'create'
      ? await send(config, 'POST', `${collection}?${query}`, JSON.stringify(object), 'application/json')
      : await send(
          config,
          'PATCH',
          `${collection}/${encodeURIComponent(name!)}?${query}`,
          JSON.stringify(object), // JSON is YAML
          'application/apply-patch+yaml',
        );
  const accepted = response.status >= 200 && response.status < 300;
  if (accepted) {
    return {
      accepted,
      status: response.status,
      warnings: response.warnings,
      message: '',
      object: parseJson(response.body) as KubernetesObject | undefined,
    };
  }
  return { accepted, status: response.status, warnings: response.warnings, message: statusMessage(response) };
}

interface Resource {
  name: string;
  namespaced: boolean;
}

const discovered = new WeakMap<KubeConfig, Map<string, Promise<Map<string, Resource>>>>();

/** The resource serving `kind` in `apiVersion`, from the server's discovery (GET /api/v1, /apis/GROUP/VERSION). */
async function discover(config: KubeConfig, apiVersion: string, kind: string): Promise<Resource> {
  const byVersion = discovered.get(config) ?? new Map<string, Promise<Map<string, Resource>>>();
  discovered.set(config, byVersion);
  let kinds = byVersion.get(apiVersion);
  if (!kinds) {
    kinds = send(config, 'GET', apiPrefix(apiVersion)).then((response) => {
      if (response.status !== 200) {
        throw new Error(`the server does not serve ${apiVersion}: ${statusMessage(response)}`);
      }
      const list = parseJson(response.body) as {
        resources?: { name: string; kind: string; namespaced: boolean }[];
      };
      const map = new Map<string, Resource>();
      for (const r of list?.resources ?? []) {
        if (!r.name.includes('/')) map.set(r.kind, { name: r.name, namespaced: r.namespaced });
      }
      return map;
    });
    byVersion.set(apiVersion, kinds);
    kinds.catch(() => byVersion.delete(apiVersion));
  }
  const resource = (await kinds).get(kind);
  if (!resource) throw new Error(`the server does not serve kind ${kind} in ${apiVersion}`);
  return resource;
}

function apiPrefix(apiVersion: string): string {
  return apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

function defaultNamespace(config: KubeConfig): string {
  const context = config.getContextObject(config.getCurrentContext());
  return context?.namespace ?? 'default';
}

interface Response {
  status: number;
  warnings: string[];
  body: string;
}

/** One request with the kubeconfig's server, TLS, credentials and proxy. */
async function send(
  config: KubeConfig,
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<Response> {
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(server.replace(/\/+$/, '') + path);
  const options: RequestOptions = {
    method,
    headers: { accept: 'application/json', ...(contentType ? { 'content-type': contentType } : {}) },
    timeout: REQUEST_TIMEOUT_MS,
  };
  await config.applyToHTTPSOptions(options);
  const request = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          warnings: warnings(res),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('timeout', () =>
      req.destroy(new Error(`no answer from ${server} in ${REQUEST_TIMEOUT_MS / 1000}s`)),
    );
    req.on('error', (err) => reject(new Error(`cannot reach ${server}: ${err.message}`)));
    req.end(body);
  });
}

/** Each `Warning: 299 - "text"` header's text (RFC 7234 form, as the API server sends it). */
export function warnings(res: Pick<IncomingMessage, 'rawHeaders'>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    if (res.rawHeaders[i]!.toLowerCase() !== 'warning') continue;
    const value = res.rawHeaders[i + 1]!;
    const match = /^\d{3} \S+ "((?:[^"\\]|\\.)*)"/.exec(value);
    out.push(match ? match[1]!.replace(/\\(.)/g, '$1') : value);
  }
  return out;
}

/** `403 Forbidden: <message>` from the server's Status body, else the status and the start of the body. */
function statusMessage(response: Response): string {
  const status = parseJson(response.body) as { kind?: string; reason?: string; message?: string } | undefined;
  if (status?.kind === 'Status' && status.message) {
    return `${response.status} ${status.reason ?? 'Failure'}: ${status.message}`;
  }
  const text = response.body.trim().replace(/\s+/g, ' ');
  return `${response.status}${text ? `: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}` : ''}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
