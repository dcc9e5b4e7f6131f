/**
 * A loopback stand-in for kube-apiserver, speaking the pod subset Kappa uses, over HTTP with a bearer token:
 * create (201; 409 AlreadyExists; 422 Invalid with the API server's own checks), get (404 NotFound), list with
 * fieldSelector=metadata.name=… (carrying the list resourceVersion), watch streams (newline-delimited events
 * from a resourceVersion; an ERROR event with a 410 Expired Status when that version was compacted away, as the
 * real server sends), container logs (follow streams until the container terminates; `timestamps`, `sinceTime`),
 * and delete (the pod gets a
 * deletionTimestamp, then a DELETED event). Errors are `Status` objects as the real server returns them.
 *
 * There is no kubelet: tests drive pod status through `kubelet`, the way a node would report it. What it does not
 * cover: scheduling, admission (quotas, security policies), real container runtimes and log rotation, other
 * resource kinds, label selectors other than metadata.name, and TLS.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { podProblems } from './pod-checks.js';
import { formatLogLine, logStamp, type LogLine } from './test-kubelet.js';
import { tempDir } from './harness.js';

const TOKEN = 'kappa-test-token';

interface Event {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  pod: V1Pod;
}

interface Watcher {
  namespace: string;
  name?: string;
  res: ServerResponse;
}

interface LogStream {
  lines: LogLine[];
  done: boolean;
  followers: Set<{ res: ServerResponse; timestamps: boolean }>;
}

export class FakeApiServer {
  private server: Server | undefined;
  private rv = 100;
  private compactedBelow = 0;
  private readonly pods = new Map<string, V1Pod>();
  private readonly events: Event[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly logs = new Map<string, LogStream>();
  /** Every request as `METHOD path`, for assertions. */
  readonly requests: string[] = [];
  kubeconfig = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => this.status(res, 500, 'InternalError', String(err)));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    this.kubeconfig = join(tempDir('kube'), 'config');
    writeFileSync(
      this.kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: loopback`,
        `  cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true }`,
        'users:',
        `- name: kappa`,
        `  user: { token: ${TOKEN} }`,
        'contexts:',
        '- name: loopback',
        '  context: { cluster: loopback, user: kappa, namespace: spark-jobs }',
        'current-context: loopback',
        '',
      ].join('\n'),
    );
  }

  async stop(): Promise<void> {
    this.breakWatches();
    for (const stream of this.logs.values()) for (const f of stream.followers) f.res.destroy();
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }

  pod(namespace: string, name: string): V1Pod | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  podNames(): string[] {
    return [...this.pods.values()].map((p) => p.metadata!.name!);
  }

  /** Drops every open watch connection mid-stream, as a flaky network or an API server restart would. */
  breakWatches(): void {
    for (const w of this.watchers) w.res.destroy();
    this.watchers.clear();
  }

  /** Forgets history: watches from an older resourceVersion get 410 Expired. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.events.length = 0;
  }

  /** What a kubelet would report. */
  readonly kubelet = {
    /** Replaces part of the pod status (phase, conditions, container statuses) and notifies watchers. */
    update: (namespace: string, name: string, change: (status: NonNullable<V1Pod['status']>) => void) => {
      const pod = this.pods.get(`${namespace}/${name}`);
      if (!pod) throw new Error(`no pod ${namespace}/${name}`);
      pod.status ??= {};
      change(pod.status);
      this.emit('MODIFIED', pod);
    },
    container: (
      namespace: string,
      name: string,
      container: string,
      state: V1ContainerStatus['state'],
      extra: Partial<V1ContainerStatus> = {},
    ) => {
      this.kubelet.update(namespace, name, (status) => {
        const pod = this.pods.get(`${namespace}/${name}`)!;
        const init = (pod.spec!.initContainers ?? []).some((c) => c.name === container);
        const key = init ? 'initContainerStatuses' : 'containerStatuses';
        const list = (status[key] ??= []);
        const existing = list.find((c) => c.name === container);
        const image = [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers].find(
          (c) => c.name === container,
        )!.image!;
        const next: V1ContainerStatus = {
          name: container,
          image,
          imageID: '',
          ready: state?.running !== undefined,
          restartCount: existing?.restartCount ?? 0,
          state,
          ...extra,
        };
        if (existing) Object.assign(existing, next);
        else list.push(next);
        if (state?.terminated) this.endLog(namespace, name, container);
      });
    },
    log: (namespace: string, name: string, container: string, line: string) => {
      const stream = this.logStream(namespace, name, container);
      const logged = { ...logStamp(), text: line };
      stream.lines.push(logged);
      for (const f of stream.followers) f.res.write(formatLogLine(logged, f.timestamps));
    },
  };

  private logStream(namespace: string, name: string, container: string): LogStream {
    const key = `${namespace}/${name}/${container}`;
    let stream = this.logs.get(key);
    if (!stream) {
      stream = { lines: [], done: false, followers: new Set() };
      this.logs.set(key, stream);
    }
    return stream;
  }

  private endLog(namespace: string, name: string, container: string): void {
    const stream = this.logStream(namespace, name, container);
    stream.done = true;
    for (const f of stream.followers) f.res.end();
    stream.followers.clear();
  }

  private emit(type: Event['type'], pod: V1Pod): void {
    pod.metadata!.resourceVersion = String(++this.rv);
    const event: Event = { rv: this.rv, type, pod: structuredClone(pod) };
    this.events.push(event);
    for (const w of this.watchers) this.send(w, event);
  }

  private send(w: Watcher, event: Event): void {
    if (event.pod.metadata!.namespace !== w.namespace) return;
    if (w.name && event.pod.metadata!.name !== w.name) return;
    w.res.write(JSON.stringify({ type: event.type, object: event.pod }) + '\n');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.requests.push(`${req.method} ${url.pathname}${url.searchParams.get('watch') ? '?watch' : ''}`);
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return this.status(res, 401, 'Unauthorized', 'Unauthorized');
    const match = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
    if (!match) return this.status(res, 404, 'NotFound', `the server could not find the requested resource`);
    const [, namespace, name, log] = match as unknown as [
      string,
      string,
      string | undefined,
      string | undefined,
    ];
    const key = `${namespace}/${name}`;

    if (req.method === 'POST' && !name) {
      const pod = JSON.parse(await body(req)) as V1Pod;
      const podKey = `${namespace}/${pod.metadata?.name}`;
      if (this.pods.has(podKey))
        return this.status(res, 409, 'AlreadyExists', `pods "${pod.metadata?.name}" already exists`);
      pod.metadata!.namespace = namespace;
      const problems = podProblems(pod);
      if (problems.length > 0)
        return this.status(
          res,
          422,
          'Invalid',
          `Pod "${pod.metadata?.name}" is invalid: ${problems.join(', ')}`,
        );
      pod.metadata!.uid = `uid-${this.rv}`;
      pod.metadata!.creationTimestamp = new Date();
      pod.status = { phase: 'Pending', qosClass: 'Burstable' };
      this.pods.set(podKey, pod);
      this.emit('ADDED', pod);
      return json(res, 201, pod);
    }
    if (req.method === 'GET' && !name) {
      const selector = url.searchParams.get('fieldSelector') ?? '';
      const wanted = /^metadata\.name=(.+)$/.exec(selector)?.[1];
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
        return this.watch(res, namespace, wanted, Number(url.searchParams.get('resourceVersion') ?? 0));
      }
      const items = [...this.pods.values()].filter(
        (p) => p.metadata!.namespace === namespace && (!wanted || p.metadata!.name === wanted),
      );
      return json(res, 200, {
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
    }
    const pod = this.pods.get(key);
    if (!pod) return this.status(res, 404, 'NotFound', `pods "${name}" not found`);
    if (req.method === 'GET' && log) {
      const container = url.searchParams.get('container') ?? pod.spec!.containers[0]!.name;
      const stream = this.logStream(namespace, name!, container);
      const timestamps = url.searchParams.get('timestamps') === 'true';
      const since = url.searchParams.get('sinceTime');
      const sinceMs = since ? Date.parse(since) : -Infinity;
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (const line of stream.lines) if (line.ms >= sinceMs) res.write(formatLogLine(line, timestamps));
      if (url.searchParams.get('follow') === 'true' && !stream.done) {
        const follower = { res, timestamps };
        stream.followers.add(follower);
        res.on('close', () => stream.followers.delete(follower));
      } else res.end();
      return;
    }
    if (req.method === 'GET') return json(res, 200, pod);
    if (req.method === 'DELETE') {
      pod.metadata!.deletionTimestamp = new Date();
      this.emit('MODIFIED', pod);
      setTimeout(() => {
        if (this.pods.delete(key)) this.emit('DELETED', pod);
      }, 50);
      return json(res, 200, pod);
    }
    return this.status(res, 405, 'MethodNotAllowed', `${req.method} not supported`);
  }

  private watch(res: ServerResponse, namespace: string, name: string | undefined, from: number): void {
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (from !== 0 && from < this.compactedBelow) {
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `too old resource version: ${from} (${this.compactedBelow})`,
            reason: 'Expired',
            code: 410,
          },
        }) + '\n',
      );
      return;
    }
    const watcher: Watcher = { namespace, res, ...(name ? { name } : {}) };
    for (const event of this.events) if (event.rv > from) this.send(watcher, event);
    this.watchers.add(watcher);
    res.on('close', () => this.watchers.delete(watcher));
  }

  private status(res: ServerResponse, code: number, reason: string, message: string): void {
    json(res, code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    });
  }
}

function json(res: ServerResponse, code: number, value: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}
