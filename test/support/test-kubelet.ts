/**
 * A minimal kubelet for the real API server (test/support/kube-apiserver.ts): it registers a Node whose kubelet
 * endpoint is its own HTTPS server on 127.0.0.1, binds the namespace's unscheduled pods to it
 * (`pods/binding`, as the scheduler would), and writes `pods/status` as a kubelet does: native sidecars
 * running, each build (init) container running then terminated, the main container running then terminated,
 * the phase following. It serves `/containerLogs/NS/POD/CONTAINER`, so `pods/log` goes through the API
 * server's own kubelet proxy, and it confirms graceful deletion (a DELETE leaves the pod Terminating until
 * the kubelet deletes it with grace period 0).
 *
 * No containers run: what each container prints, how it exits, or that it runs until the pod is deleted is the
 * test's script (`script()`), by default nothing and exit 0. Pods are found by listing every `pollMs`, not by a
 * watch; the kubelet acts with the admin's rights (no Node authorizer here).
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CoreV1Api, type KubeConfig, type V1ContainerStatus, type V1Pod } from '@kubernetes/client-node';

export interface ContainerScript {
  /** What the container prints (served by /containerLogs before it is reported running). */
  log?: string[];
  exitCode?: number;
  /** A main container that keeps running until the pod is deleted (the kubelet then confirms the deletion). */
  untilDeleted?: boolean;
}

export interface TestKubeletOptions {
  admin: KubeConfig;
  namespace: string;
  tls: { cert: string; key: string };
  nodeName?: string;
  /** Pause between status writes, so watchers see each step. */
  stepMs?: number;
  pollMs?: number;
}

export class TestKubelet {
  readonly nodeName: string;
  /** `pods/log` requests that reached this kubelet through the API server, as `NS/POD/CONTAINER`. */
  readonly logRequests: string[] = [];
  private readonly core: CoreV1Api;
  private readonly scripts = new Map<string, Record<string, ContainerScript>>();
  private readonly logs = new Map<string, string>();
  private readonly handled = new Set<string>();
  private readonly deleting = new Set<string>();
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private readonly running = new Set<Promise<void>>();
  /** Errors from the kubelet's own API calls (a test should find none). */
  readonly errors: string[] = [];

  constructor(private readonly options: TestKubeletOptions) {
    this.nodeName = options.nodeName ?? 'kappa-test-node';
    this.core = options.admin.makeApiClient(CoreV1Api);
  }

  /** What the containers of pod `name` print and how they exit; containers not named exit 0 silently. */
  script(name: string, containers: Record<string, ContainerScript>): void {
    this.scripts.set(name, containers);
  }

  async start(): Promise<void> {
    this.server = createServer({ cert: this.options.tls.cert, key: this.options.tls.key }, (req, res) => {
      const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/?]+)/.exec(req.url ?? '');
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      const key = `${match[1]}/${match[2]}/${match[3]}`;
      this.logRequests.push(key);
      const text = this.logs.get(key);
      if (text === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`container ${key} not found`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const port = (this.server.address() as AddressInfo).port;
    await this.core.createNode({
      body: {
        metadata: { name: this.nodeName, labels: { 'kubernetes.io/hostname': this.nodeName } },
        status: {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'KubeletReady',
              lastHeartbeatTime: new Date(),
              lastTransitionTime: new Date(),
            },
          ],
          capacity: { cpu: '4', memory: '8Gi', pods: '110' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
        },
      },
    });
    this.timer = setInterval(() => void this.poll(), this.options.pollMs ?? 200);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.allSettled([...this.running]);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }

  private async poll(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const { namespace } = this.options;
      const pods = await this.core.listNamespacedPod({ namespace });
      for (const pod of pods.items) {
        const name = pod.metadata!.name!;
        const uid = pod.metadata!.uid!;
        if (pod.metadata?.deletionTimestamp) {
          this.deleting.add(uid);
          if (pod.spec?.nodeName === this.nodeName) await this.confirmDeletion(name, uid);
        } else if (!pod.spec?.nodeName && !this.handled.has(uid)) {
          this.handled.add(uid);
          const run = this.runPod(pod).catch((err: unknown) => {
            this.errors.push(`${name}: ${(err as Error).message}`);
          });
          this.running.add(run);
          void run.finally(() => this.running.delete(run));
        }
      }
    } catch (err) {
      if (!this.stopped) this.errors.push(`poll: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /**
   * What the kubelet does once the containers are gone: delete for good, with the uid as a precondition. With a
   * body the API server reads the options from it alone: a `gracePeriodSeconds` query parameter would be ignored.
   */
  private async confirmDeletion(name: string, uid: string): Promise<void> {
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace: this.options.namespace,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }

  private async runPod(pod: V1Pod): Promise<void> {
    const { namespace } = this.options;
    const name = pod.metadata!.name!;
    const spec = pod.spec!;
    const script = this.scripts.get(name) ?? {};
    await this.core.createNamespacedPodBinding({
      name,
      namespace,
      body: { metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } },
    });
    const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
    const builds = (spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
    const main = spec.containers;
    for (const c of [...(spec.initContainers ?? []), ...main]) {
      this.logs.set(
        `${namespace}/${name}/${c.name}`,
        (script[c.name]?.log ?? []).map((l) => `${l}\n`).join(''),
      );
    }
    const statuses = new Map<string, V1ContainerStatus>();
    const waiting = (c: { name: string; image?: string }): V1ContainerStatus => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: 'PodInitializing' } },
    });
    for (const c of [...(spec.initContainers ?? []), ...main]) statuses.set(c.name, waiting(c));
    const startedAt = new Date();
    const set = (container: string, state: V1ContainerStatus['state'], ready = false) => {
      const s = statuses.get(container)!;
      s.state = state;
      s.ready = ready;
      s.started = Boolean(state?.running);
    };
    let phase = 'Pending';
    const write = async () => {
      if (this.stopped || this.deleting.has(pod.metadata!.uid!)) return;
      await this.writeStatus(name, (status) => {
        status.phase = phase;
        status.hostIP = '127.0.0.1';
        status.hostIPs = [{ ip: '127.0.0.1' }];
        status.podIP = '127.0.0.1';
        status.podIPs = [{ ip: '127.0.0.1' }];
        status.startTime = startedAt;
        status.initContainerStatuses = (spec.initContainers ?? []).map((c) => statuses.get(c.name)!);
        status.containerStatuses = main.map((c) => statuses.get(c.name)!);
      });
      await new Promise((r) => setTimeout(r, this.options.stepMs ?? 100));
    };
    const running = () => ({ running: { startedAt: new Date() } });
    const exited = (c: string, startedAt: Date) => {
      const exitCode = script[c]?.exitCode ?? 0;
      return {
        terminated: {
          exitCode,
          reason: exitCode === 0 ? 'Completed' : 'Error',
          startedAt,
          finishedAt: new Date(),
        },
      };
    };
    for (const c of sidecars) set(c.name, running(), true);
    await write();
    for (const c of builds) {
      const state = running();
      set(c.name, state);
      await write();
      set(c.name, exited(c.name, state.running.startedAt));
      await write();
      if ((script[c.name]?.exitCode ?? 0) !== 0) {
        phase = 'Failed';
        for (const s of sidecars) set(s.name, exited(s.name, startedAt));
        await write();
        return;
      }
    }
    phase = 'Running';
    const mainStarted = main.map(() => running());
    main.forEach((c, i) => set(c.name, mainStarted[i], true));
    await write();
    if (main.some((c) => script[c.name]?.untilDeleted)) {
      while (!this.stopped && !this.deleting.has(pod.metadata!.uid!))
        await new Promise((r) => setTimeout(r, 50));
      return;
    }
    main.forEach((c, i) => set(c.name, exited(c.name, mainStarted[i]!.running.startedAt)));
    // The kubelet stops native sidecars once the main containers have exited.
    for (const s of sidecars) set(s.name, exited(s.name, startedAt));
    phase = main.every((c) => (script[c.name]?.exitCode ?? 0) === 0) ? 'Succeeded' : 'Failed';
    await write();
  }

  private async writeStatus(
    name: string,
    change: (status: NonNullable<V1Pod['status']>) => void,
  ): Promise<void> {
    const { namespace } = this.options;
    for (let attempt = 1; ; attempt++) {
      const pod = await this.core.readNamespacedPod({ name, namespace }).catch((err: unknown) => {
        if ((err as { code?: number }).code === 404) return undefined; // deleted meanwhile
        throw err;
      });
      if (!pod || pod.metadata?.deletionTimestamp) return; // gone or being deleted: confirmDeletion takes over
      pod.status ??= {};
      change(pod.status);
      try {
        await this.core.replaceNamespacedPodStatus({ name, namespace, body: pod });
        return;
      } catch (err) {
        if ((err as { code?: number }).code !== 409 || attempt >= 5) throw err;
      }
    }
  }
}
