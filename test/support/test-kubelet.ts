/**
 * A minimal kubelet for the real API server (test/support/kube-apiserver.ts): it registers a Node whose kubelet
 * endpoint is its own HTTPS server on 127.0.0.1, binds the namespace's unscheduled pods to it
 * (`pods/binding`, as the scheduler would), and writes `pods/status` as a kubelet does; for a pod that runs to
 * completion (restartPolicy Never, Kappa's step pods; server pods are below): native sidecars
 * running, each build (init) container running then terminated, the main container running then terminated,
 * the phase following. It serves `/containerLogs/NS/POD/CONTAINER` (with `follow`, `timestamps` and `sinceTime`,
 * as a kubelet does), so `pods/log` goes through the API server's own kubelet proxy, and it confirms graceful
 * deletion (a DELETE leaves the pod Terminating until the kubelet deletes it with grace period 0).
 * It enforces `activeDeadlineSeconds` as a kubelet does: past it the containers are killed (137) and the pod
 * Failed with reason DeadlineExceeded.
 *
 * No containers run: what each container prints, how it exits, or that it runs until the pod is deleted is the
 * test's script (`script()`), by default nothing and exit 0. A script can also make an image unpullable, a sidecar
 * crash-loop, a container run until the test releases it (`until`) while the test prints more (`print()`), the
 * status come before the binding (so `pods/log` answers 204), and the deletion be confirmed late or never. With
 * the node not ready (`setNodeReady(false)`) it plays the scheduler refusing pods: `PodScheduled` False,
 * `Unschedulable`, the scheduler's message. Pods are found by listing every `pollMs`, not by a watch; the kubelet
 * acts with the admin's rights (no Node authorizer here). API calls that fail for want of a connection (the API
 * server restarting) are retried for 30 s.
 *
 * Server pods. A pod whose restartPolicy is Always (every pod of a ReplicaSet, so of a Deployment; Kappa's own
 * step pods say Never) is a long-running server: bound like the others, then run container by container as a
 * real kubelet does, until it is deleted. What each container does is chosen by its image, exactly as written in
 * the pod spec: `images` in the options or `image(name, behaviour)` later (read at each container start, so a
 * test can "fix" an image); an image not listed is `{ kind: 'ready' }`.
 *   - `ready`: running at once; Ready when its readiness probe first passes, `afterMs` after the start
 *     (default 300). A container without a readinessProbe is ready as soon as it runs, as with a real kubelet.
 *   - `never-ready`: running, but its readiness probe never passes: ready=false, pod Ready=False
 *     ContainersNotReady (a container without a probe would be ready: give it one).
 *   - `pull-error`: waiting ErrImagePull (the runtime's error as the message), then ImagePullBackOff
 *     (`Back-off pulling image "IMAGE": ErrImagePull: <error>`) for the back-off, again and again; phase Pending.
 *   - `crash-loop`: runs `runMs`, exits `exitCode` (terminated, reason Error), is restarted at once the first
 *     time, then waits in CrashLoopBackOff (`back-off 10s restarting failed container=C pod=P_NS(UID)`,
 *     lastState the exit, restartCount counting) for the kubelet's back-off, and runs again; phase Running.
 * The status is what generateAPIPodStatus writes (kubelet 1.34): ContainerCreating (PodInitializing with init
 * containers) first; conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled with
 * their reasons and messages, each with its own lastTransitionTime (the deployment controller counts a pod
 * available from its Ready transition) and observedGeneration; container statuses sorted by name with a
 * containerd containerID, the image as containerd reports it (docker.io/library/…:latest) and an imageID; a pod IP
 * of its own from 10.244.0.0/24 (an EndpointSlice refuses loopback addresses). Back-offs are compressed: 10 s of
 * the kubelet's (doubling to 5 min) last `backOffMs` here, while messages name the real durations. Regular init
 * containers complete at once (or are stuck in a pull error); native sidecars start before the main containers.
 * `/containerLogs` serves each run of a container apart: the current (or, when waiting to restart, the last) one,
 * `previous=true` the one before, and for a container that never ran the kubelet's 400 (`container "C" in pod
 * "P" is waiting to start: …`). Logs are the behaviour's `log` lines at each start, and whatever `print()` adds.
 */
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import {
  CoreV1Api,
  type KubeConfig,
  type V1Container,
  type V1ContainerStatus,
  type V1Pod,
  type V1PodCondition,
  type V1PodStatus,
} from '@kubernetes/client-node';

export interface ContainerScript {
  /** What the container prints when it starts (served by /containerLogs before it is reported running). */
  log?: string[];
  exitCode?: number;
  /** The terminated reason (default Completed for 0, else Error), e.g. OOMKilled. */
  reason?: string;
  /** A main container that keeps running until the pod is deleted (the kubelet then confirms the deletion). */
  untilDeleted?: boolean;
  /** A main container that runs until this settles, then prints `laterLog` and exits. */
  until?: Promise<unknown>;
  laterLog?: string[];
  /** The image cannot be pulled: the container waits with this reason (ErrImagePull, ImagePullBackOff) for ever. */
  pullError?: { reason: string; message?: string };
  /** A sidecar that keeps crashing: CrashLoopBackOff after this many restarts, last exit code `exitCode`. */
  crashLoop?: number;
}

export interface PodScript {
  /** Report the first container running this long before binding the pod (so `pods/log` answers 204 meanwhile). */
  statusBeforeBindingMs?: number;
  /** Confirm a deletion only after this long, or never. */
  deletion?: { delayMs: number } | 'never';
}

/** How a container of a server pod behaves (see the header), chosen by its image. */
export type ServerBehaviour =
  | { kind: 'ready'; afterMs?: number; log?: string[] }
  | { kind: 'never-ready'; log?: string[] }
  | { kind: 'pull-error'; message?: string }
  | { kind: 'crash-loop'; exitCode?: number; runMs?: number; log?: string[] };

export interface TestKubeletOptions {
  admin: KubeConfig;
  namespace: string;
  tls: { cert: string; key: string };
  nodeName?: string;
  /** Pause between status writes, so watchers see each step. */
  stepMs?: number;
  pollMs?: number;
  /** Server containers' behaviours by image, as written in the pod spec; others are `{ kind: 'ready' }`. */
  images?: Record<string, ServerBehaviour>;
  /** What the kubelet's 10 s back-off (image pulls, crash loops) lasts here, in ms; it doubles up to 30 times this. */
  backOffMs?: number;
}

/** What the default scheduler says when the only node is not ready. */
export const NOT_READY_MESSAGE =
  '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.';

/** A line of a container's log: its kubelet timestamp (RFC3339, nine fraction digits), in ms, and its text. */
export interface LogLine {
  at: string;
  ms: number;
  text: string;
}

interface ContainerLog {
  lines: LogLine[];
  ended: boolean;
  followers: Set<{ res: ServerResponse; timestamps: boolean }>;
}

/** A server pod's container: its spec, the status the kubelet reports, and the log of each of its runs. */
interface ServerContainer {
  spec: V1Container;
  status: V1ContainerStatus;
  /** Log of each run, by restartCount. */
  runs: ContainerLog[];
  /** The run the status's `lastState.terminated` is, if any. */
  lastRun?: number;
}

export class TestKubelet {
  readonly nodeName: string;
  /** `pods/log` requests that reached this kubelet through the API server, as `NS/POD/CONTAINER`. */
  readonly logRequests: string[] = [];
  /** Their query strings, in the same order. */
  readonly logQueries: string[] = [];
  private readonly core: CoreV1Api;
  private readonly scripts = new Map<
    string,
    { containers: Record<string, ContainerScript>; pod: PodScript }
  >();
  private readonly prefixScripts: {
    prefix: string;
    script: { containers: Record<string, ContainerScript>; pod: PodScript };
  }[] = [];
  /** The pods this kubelet ran, by name, in the order it bound them (one entry per pod object). */
  readonly ran: string[] = [];
  private readonly logs = new Map<string, ContainerLog>();
  /** Server pods' containers, by `NS/POD/CONTAINER`. */
  private readonly serverContainers = new Map<string, { pod: string; container: ServerContainer }>();
  private readonly images: Map<string, ServerBehaviour>;
  private podIPs = 0;
  private readonly handled = new Set<string>();
  private readonly deleting = new Map<string, number>();
  private readonly refused = new Set<string>();
  private server: Server | undefined;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private stopped = false;
  private ready = true;
  private readonly running = new Set<Promise<void>>();
  /** Errors from the kubelet's own API calls (a test should find none). */
  readonly errors: string[] = [];
  /** Polls that could not reach the API server (while it restarts). */
  readonly outages: string[] = [];

  constructor(private readonly options: TestKubeletOptions) {
    this.nodeName = options.nodeName ?? 'kappa-test-node';
    this.core = options.admin.makeApiClient(CoreV1Api);
    this.images = new Map(Object.entries(options.images ?? {}));
  }

  /** How server containers of `image` behave from their next start on. */
  image(image: string, behaviour: ServerBehaviour): void {
    this.images.set(image, behaviour);
  }

  /** What the containers of pod `name` print and how they exit; containers not named exit 0 silently. */
  script(name: string, containers: Record<string, ContainerScript>, pod: PodScript = {}): void {
    this.scripts.set(name, { containers, pod });
  }

  /** A script for every pod whose name starts with `prefix` (a workflow's pods, named only once it runs). */
  scriptPrefix(prefix: string, containers: Record<string, ContainerScript>, pod: PodScript = {}): void {
    this.prefixScripts.push({ prefix, script: { containers, pod } });
  }

  private scriptOf(name: string) {
    return this.scripts.get(name) ?? this.prefixScripts.find((p) => name.startsWith(p.prefix))?.script;
  }

  /** A running container prints `line` (its log followers get it at once). */
  print(pod: string, container: string, line: string): void {
    this.append(`${this.options.namespace}/${pod}/${container}`, [line]);
  }

  /** The node's Ready condition; while it is not ready, new pods are refused as the scheduler would. */
  async setNodeReady(ready: boolean): Promise<void> {
    this.ready = ready;
    const node = await this.core.readNode({ name: this.nodeName });
    node.spec = {
      ...node.spec,
      taints: ready ? [] : [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }],
    };
    await this.core.replaceNode({ name: this.nodeName, body: node });
    const fresh = await this.core.readNode({ name: this.nodeName });
    fresh.status!.conditions = [
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'KubeletReady' : 'KubeletNotReady',
        lastHeartbeatTime: new Date(),
        lastTransitionTime: new Date(),
      },
    ];
    await this.core.replaceNodeStatus({ name: this.nodeName, body: fresh });
  }

  async start(): Promise<void> {
    this.server = createServer({ cert: this.options.tls.cert, key: this.options.tls.key }, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      const key = `${match[1]}/${match[2]}/${match[3]}`;
      this.logRequests.push(key);
      this.logQueries.push(url.search);
      let log = this.logs.get(key);
      const server = this.serverContainers.get(key);
      if (server) {
        const found = serverLog(server.pod, server.container, url.searchParams.get('previous') === 'true');
        // What the kubelet's log endpoint answers when it cannot pick a container run to read.
        if (typeof found === 'string') {
          res.writeHead(400, { 'content-type': 'text/plain' }).end(found);
          return;
        }
        log = found;
      }
      if (log === undefined) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end(`container ${key} not found`);
        return;
      }
      const timestamps = url.searchParams.get('timestamps') === 'true';
      const since = url.searchParams.get('sinceTime');
      const sinceMs = since ? Date.parse(since) : -Infinity;
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (const line of log.lines) if (line.ms >= sinceMs) res.write(formatLogLine(line, timestamps));
      if (url.searchParams.get('follow') === 'true' && !log.ended) {
        const follower = { res, timestamps };
        log.followers.add(follower);
        res.on('close', () => log.followers.delete(follower));
      } else res.end();
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
    for (const log of this.logs.values()) this.endLog(log);
    await Promise.allSettled([...this.running]);
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }

  private append(key: string, lines: string[]): void {
    const log = this.logs.get(key);
    if (!log) throw new Error(`no container ${key}`);
    for (const text of lines) {
      const line = { ...logStamp(), text };
      log.lines.push(line);
      for (const f of log.followers) f.res.write(formatLogLine(line, f.timestamps));
    }
  }

  private endLog(log: ContainerLog): void {
    log.ended = true;
    for (const f of log.followers) f.res.end();
    log.followers.clear();
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
        const script = this.scriptOf(name)?.pod ?? {};
        if (pod.metadata?.deletionTimestamp) {
          if (!this.deleting.has(uid)) this.deleting.set(uid, Date.now());
          const since = this.deleting.get(uid)!;
          const due =
            script.deletion === 'never' ? false : Date.now() - since >= (script.deletion?.delayMs ?? 0);
          if (pod.spec?.nodeName === this.nodeName && due) await this.confirmDeletion(name, uid);
        } else if (!pod.spec?.nodeName && !this.handled.has(uid)) {
          if (!this.ready) {
            if (!this.refused.has(uid)) await this.refuse(name);
            this.refused.add(uid);
            continue;
          }
          this.handled.add(uid);
          const run = (
            pod.spec?.restartPolicy === 'Always' ? this.runServerPod(pod) : this.runPod(pod)
          ).catch((err: unknown) => {
            this.errors.push(`${name}: ${(err as Error).message}`);
          });
          this.running.add(run);
          void run.finally(() => this.running.delete(run));
        }
      }
    } catch (err) {
      if (this.stopped) return;
      if (code(err) === undefined) this.outages.push((err as Error).message);
      else this.errors.push(`poll: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** What the scheduler writes when no node fits. */
  private async refuse(name: string): Promise<void> {
    await this.writeStatus(name, (status) => {
      status.conditions = [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: NOT_READY_MESSAGE,
          lastTransitionTime: new Date(),
        },
      ];
    });
  }

  /**
   * What the kubelet does once the containers are gone: delete for good, with the uid as a precondition. With a
   * body the API server reads the options from it alone: a `gracePeriodSeconds` query parameter would be ignored.
   */
  private async confirmDeletion(name: string, uid: string): Promise<void> {
    for (const [key, log] of this.logs)
      if (key.startsWith(`${this.options.namespace}/${name}/`)) this.endLog(log);
    try {
      await this.core.deleteNamespacedPod({
        name,
        namespace: this.options.namespace,
        body: { gracePeriodSeconds: 0, preconditions: { uid } },
      });
    } catch (err) {
      if (code(err) !== 404 && code(err) !== 409) throw err;
    }
  }

  private async runPod(pod: V1Pod): Promise<void> {
    const { namespace } = this.options;
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid!;
    const spec = pod.spec!;
    const { containers: script, pod: podScript } = this.scriptOf(name) ?? { containers: {}, pod: {} };
    this.ran.push(name);
    const sidecars = (spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
    const builds = (spec.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
    const main = spec.containers;
    for (const c of [...(spec.initContainers ?? []), ...main]) {
      this.logs.set(`${namespace}/${name}/${c.name}`, { lines: [], ended: false, followers: new Set() });
      this.append(`${namespace}/${name}/${c.name}`, script[c.name]?.log ?? []);
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
    let podReason: { reason: string; message: string } | undefined;
    const deleted = () => this.stopped || this.deleting.has(uid);
    const write = async () => {
      if (deleted()) return;
      await this.writeStatus(name, (status) => {
        status.phase = phase;
        if (podReason) Object.assign(status, podReason);
        status.hostIP = '127.0.0.1';
        status.hostIPs = [{ ip: '127.0.0.1' }];
        status.podIP = '127.0.0.1';
        status.podIPs = [{ ip: '127.0.0.1' }];
        status.startTime = startedAt;
        status.conditions = [{ type: 'PodScheduled', status: 'True', lastTransitionTime: startedAt }];
        status.initContainerStatuses = (spec.initContainers ?? []).map((c) => statuses.get(c.name)!);
        status.containerStatuses = main.map((c) => statuses.get(c.name)!);
      });
      await sleep(this.options.stepMs ?? 100);
    };
    const untilDeleted = async () => {
      while (!deleted()) await sleep(50);
    };
    const running = () => ({ running: { startedAt: new Date() } });
    const start = (c: string) => {
      const state = running();
      set(c, state, true);
      return state.running.startedAt;
    };
    const exited = (c: string, startedAt: Date) => {
      const exitCode = script[c]?.exitCode ?? 0;
      const log = this.logs.get(`${namespace}/${name}/${c}`)!;
      this.endLog(log);
      return {
        terminated: {
          exitCode,
          reason: script[c]?.reason ?? (exitCode === 0 ? 'Completed' : 'Error'),
          startedAt,
          finishedAt: new Date(),
        },
      };
    };
    /** A container whose image cannot be pulled, or a crash-looping sidecar: the pod stays until deleted. */
    const stuck = async (c: string) => {
      const { pullError, crashLoop, exitCode } = script[c] ?? {};
      if (pullError) set(c, { waiting: { reason: pullError.reason, message: pullError.message ?? '' } });
      else if (crashLoop === undefined) return false;
      else {
        const s = statuses.get(c)!;
        s.restartCount = crashLoop;
        s.lastState = {
          terminated: { exitCode: exitCode ?? 1, reason: 'Error', startedAt, finishedAt: new Date() },
        };
        set(c, {
          waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c}` },
        });
      }
      await write();
      await untilDeleted();
      return true;
    };

    if (podScript.statusBeforeBindingMs !== undefined) {
      const first = builds[0] ?? main[0]!;
      start(first.name);
      await this.writeStatus(name, (status) => {
        status.initContainerStatuses = (spec.initContainers ?? []).map((c) => statuses.get(c.name)!);
        status.containerStatuses = main.map((c) => statuses.get(c.name)!);
      });
      await sleep(podScript.statusBeforeBindingMs);
      set(first.name, { waiting: { reason: 'PodInitializing' } });
    }
    await this.retrying(() =>
      this.core.createNamespacedPodBinding({
        name,
        namespace,
        body: { metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } },
      }),
    );
    for (const c of sidecars) {
      if (await stuck(c.name)) return;
      start(c.name);
    }
    await write();
    for (const c of builds) {
      if (await stuck(c.name)) return;
      const startedAt = start(c.name);
      await write();
      set(c.name, exited(c.name, startedAt));
      if ((script[c.name]?.exitCode ?? 0) !== 0) {
        // restartPolicy Never: the pod has failed, in the same status update.
        phase = 'Failed';
        for (const s of sidecars) set(s.name, exited(s.name, startedAt));
        await write();
        return;
      }
      await write();
    }
    for (const c of main) if (await stuck(c.name)) return;
    phase = 'Running';
    const mainStarted = main.map((c) => start(c.name));
    await write();
    // activeDeadlineSeconds counts from the pod's start on the node; past it the kubelet kills the pod.
    const deadlineMs =
      spec.activeDeadlineSeconds === undefined
        ? undefined
        : startedAt.getTime() + spec.activeDeadlineSeconds * 1000 - Date.now();
    let deadlineTimer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      if (deadlineMs !== undefined)
        deadlineTimer = setTimeout(() => resolve('deadline'), Math.max(0, deadlineMs));
    });
    const killedAtDeadline = async () => {
      for (const c of [...main, ...sidecars]) {
        const log = this.logs.get(`${namespace}/${name}/${c.name}`)!;
        this.endLog(log);
        set(c.name, { terminated: { exitCode: 137, reason: 'Error', startedAt, finishedAt: new Date() } });
      }
      phase = 'Failed';
      podReason = {
        reason: 'DeadlineExceeded',
        message: 'Pod was active on the node longer than the specified deadline',
      };
      await write();
    };
    const until = main.map((c) => script[c.name]?.until).filter((p) => p !== undefined);
    try {
      if (main.some((c) => script[c.name]?.untilDeleted)) {
        if ((await Promise.race([untilDeleted(), deadline])) === 'deadline') await killedAtDeadline();
        return;
      }
      if (until.length > 0) {
        const ended = await Promise.race([Promise.all(until), untilDeleted(), deadline]);
        if (ended === 'deadline') return await killedAtDeadline();
      }
    } finally {
      clearTimeout(deadlineTimer);
    }
    if (until.length > 0) {
      if (deleted()) return;
      for (const c of main) this.append(`${namespace}/${name}/${c.name}`, script[c.name]?.laterLog ?? []);
    }
    main.forEach((c, i) => set(c.name, exited(c.name, mainStarted[i]!)));
    // The kubelet stops native sidecars once the main containers have exited.
    for (const s of sidecars) set(s.name, exited(s.name, startedAt));
    phase = main.every((c) => (script[c.name]?.exitCode ?? 0) === 0) ? 'Succeeded' : 'Failed';
    await write();
  }

  /** A server pod (restartPolicy Always), run as the header says until it is deleted. */
  private async runServerPod(pod: V1Pod): Promise<void> {
    const { namespace } = this.options;
    const name = pod.metadata!.name!;
    const uid = pod.metadata!.uid!;
    const spec = pod.spec!;
    const stepMs = this.options.stepMs ?? 100;
    this.ran.push(name);
    const deleted = () => this.stopped || this.deleting.has(uid);
    /** Waits `ms`, or less once the pod is being deleted. */
    const pause = async (ms: number) => {
      const end = Date.now() + ms;
      while (!deleted() && Date.now() < end) await sleep(Math.min(50, end - Date.now()));
    };
    const untilDeleted = () => pause(Infinity);
    const initContainers = spec.initContainers ?? [];
    const sidecars = initContainers.filter((c) => c.restartPolicy === 'Always');
    const builds = initContainers.filter((c) => c.restartPolicy !== 'Always');
    // Before any container is created the kubelet reports each as waiting, PodInitializing when there are init
    // containers (convertToAPIContainerStatuses' default state).
    const created = initContainers.length > 0 ? 'PodInitializing' : 'ContainerCreating';
    const containers = new Map<string, ServerContainer>();
    for (const c of [...initContainers, ...spec.containers]) {
      const container: ServerContainer = {
        spec: c,
        status: {
          name: c.name,
          image: c.image ?? '',
          imageID: '',
          ready: false,
          restartCount: 0,
          started: false,
          state: { waiting: { reason: created } },
        },
        runs: [],
      };
      containers.set(c.name, container);
      this.serverContainers.set(`${namespace}/${name}/${c.name}`, { pod: name, container });
    }
    const pod$ = {
      sandbox: false,
      podIP: `10.244.0.${2 + (this.podIPs++ % 250)}`,
      startedAt: new Date(),
      transitions: new Map<string, { status: string; at: Date }>(),
    };

    // Status writes go one at a time, each with the state as it is when it goes out; a write asked for while one
    // is queued already is that one.
    let chain = Promise.resolve();
    let queued = false;
    const write = () => {
      if (!queued) {
        queued = true;
        chain = chain.then(async () => {
          queued = false;
          if (deleted()) return;
          await this.writeStatus(name, (status) => fillServerStatus(pod, status, containers, pod$)).catch(
            (err: unknown) => void this.errors.push(`${name}: status: ${(err as Error).message}`),
          );
        });
      }
      return chain;
    };
    const set = (c: ServerContainer, change: Partial<V1ContainerStatus>) => Object.assign(c.status, change);
    const backOff = (n: number) => {
      const base = this.options.backOffMs ?? 400;
      return { ms: Math.min(base * 2 ** n, base * 30), real: goDuration(Math.min(10 * 2 ** n, 300)) };
    };

    /** The image cannot be pulled: ErrImagePull, ImagePullBackOff for the back-off, again; false once it can. */
    const pullFails = async (c: ServerContainer): Promise<boolean> => {
      for (let attempt = 0; ; attempt++) {
        const behaviour = this.behaviourOf(c.spec.image);
        if (behaviour.kind !== 'pull-error') return false;
        const image = c.spec.image ?? '';
        const ref = containerdImage(image);
        const error =
          behaviour.message ??
          `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`;
        set(c, { state: { waiting: { reason: 'ErrImagePull', message: error } } });
        await write();
        await pause(stepMs);
        if (deleted()) return true;
        const requested = /[:@][^/]*$/.test(image) ? image : `${image}:latest`;
        set(c, {
          state: {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${requested}": ErrImagePull: ${error}`,
            },
          },
        });
        await write();
        await pause(backOff(attempt).ms);
        if (deleted()) return true;
      }
    };

    /** One run of a container: running, its log begun, ready at once unless a readiness probe must pass first. */
    const startRun = (c: ServerContainer, behaviour: ServerBehaviour) => {
      const run = c.runs.length;
      const log: ContainerLog = { lines: [], ended: false, followers: new Set() };
      c.runs.push(log);
      const key = `${namespace}/${name}/${c.spec.name}`;
      this.logs.set(key, log);
      if (behaviour.kind !== 'pull-error') this.append(key, behaviour.log ?? []);
      const ref = containerdImage(c.spec.image ?? '');
      const startedAt = new Date();
      const containerID = `containerd://${randomBytes(32).toString('hex')}`;
      set(c, {
        containerID,
        image: ref,
        imageID: `${ref.replace(/:[^:/]*$/, '')}@sha256:${createHash('sha256').update(ref).digest('hex')}`,
        restartCount: run,
        started: true,
        ready: c.spec.readinessProbe === undefined,
        state: { running: { startedAt } },
        // Server containers report what they run with (in-place resize is on by default since 1.33).
        ...(c.spec.resources
          ? { resources: c.spec.resources, allocatedResources: c.spec.resources.requests }
          : {}),
        ...(c.spec.volumeMounts
          ? {
              volumeMounts: c.spec.volumeMounts.map((m) => ({
                name: m.name,
                mountPath: m.mountPath,
                readOnly: m.readOnly ?? false,
                ...(m.readOnly ? { recursiveReadOnly: 'Disabled' } : {}),
              })),
            }
          : {}),
      });
      return { run, startedAt, containerID, log };
    };

    /** A restartable container (sidecar or main) for as long as the pod lives. */
    const serve = async (c: ServerContainer) => {
      for (;;) {
        if (deleted() || (await pullFails(c))) return;
        const behaviour = this.behaviourOf(c.spec.image);
        if (behaviour.kind === 'pull-error') continue; // made unpullable just now
        const { run, startedAt, containerID, log } = startRun(c, behaviour);
        await write();
        if (behaviour.kind === 'ready') {
          if (!c.status.ready) {
            await pause(behaviour.afterMs ?? 300);
            if (deleted()) return;
            set(c, { ready: true });
            await write();
          }
          return untilDeleted();
        }
        if (behaviour.kind !== 'crash-loop') return untilDeleted();
        await pause(behaviour.runMs ?? 200);
        if (deleted()) return;
        const exitCode = behaviour.exitCode ?? 1;
        this.endLog(log);
        const exit = {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            startedAt,
            finishedAt: new Date(),
            containerID,
          },
        };
        set(c, { ready: false, started: false, state: exit });
        await write();
        // The first exit restarts at once (no back-off yet); later ones wait in CrashLoopBackOff, doubling.
        if (run === 0) {
          await pause(stepMs);
          c.lastRun = run;
          set(c, { lastState: exit });
          continue;
        }
        const wait = backOff(run - 1);
        c.lastRun = run;
        set(c, {
          lastState: exit,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off ${wait.real} restarting failed container=${c.spec.name} pod=${name}_${namespace}(${uid})`,
            },
          },
        });
        await write();
        await pause(wait.ms);
      }
    };

    await this.retrying(() =>
      this.core.createNamespacedPodBinding({
        name,
        namespace,
        body: { metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: this.nodeName } },
      }),
    );
    await write();
    await pause(stepMs);
    pod$.sandbox = true;
    await write();
    for (const b of builds) {
      const c = containers.get(b.name)!;
      if (await pullFails(c)) return;
      const { startedAt, containerID, log } = startRun(c, this.behaviourOf(b.image));
      set(c, { ready: false });
      await write();
      await pause(stepMs);
      this.endLog(log);
      const finishedAt = new Date();
      set(c, {
        ready: true,
        started: false,
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt, finishedAt, containerID } },
      });
      await write();
    }
    const serving: Promise<void>[] = [];
    // Each native sidecar has started before the next container starts.
    for (const s of sidecars) {
      const c = containers.get(s.name)!;
      serving.push(serve(c));
      while (!deleted() && !c.status.started) await sleep(20);
    }
    serving.push(...spec.containers.map((c) => serve(containers.get(c.name)!)));
    await Promise.all(serving);
    await chain;
  }

  private behaviourOf(image: string | undefined): ServerBehaviour {
    return this.images.get(image ?? '') ?? { kind: 'ready' };
  }

  private async writeStatus(
    name: string,
    change: (status: NonNullable<V1Pod['status']>) => void,
  ): Promise<void> {
    const { namespace } = this.options;
    for (let attempt = 1; ; attempt++) {
      const pod = await this.retrying(() => this.core.readNamespacedPod({ name, namespace })).catch(
        (err: unknown) => {
          if (code(err) === 404) return undefined; // deleted meanwhile
          throw err;
        },
      );
      if (!pod || pod.metadata?.deletionTimestamp) return; // gone or being deleted: confirmDeletion takes over
      pod.status ??= {};
      change(pod.status);
      try {
        await this.retrying(() => this.core.replaceNamespacedPodStatus({ name, namespace, body: pod }));
        return;
      } catch (err) {
        if (code(err) === 404) return;
        if (code(err) !== 409 || attempt >= 5) throw err;
      }
    }
  }

  /** Retries a call that failed for want of a connection (the API server restarting), for up to 30 s. */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await call();
      } catch (err) {
        if (code(err) !== undefined || Date.now() > deadline || this.stopped) throw err;
        await sleep(250);
      }
    }
  }
}

const code = (err: unknown) => {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'number' ? c : undefined;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let lastNs = 0n;
/** Now as a kubelet stamps log lines (RFC3339 with nine fraction digits), strictly increasing. */
export function logStamp(): { at: string; ms: number } {
  let ns = BigInt(Date.now()) * 1_000_000n;
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  const ms = Number(ns / 1_000_000n);
  return {
    at: `${new Date(ms).toISOString().slice(0, 19)}.${String(ns % 1_000_000_000n).padStart(9, '0')}Z`,
    ms,
  };
}

/** A log line as /containerLogs serves it, with or without its timestamp (`timestamps=true`). */
export function formatLogLine(line: LogLine, timestamps: boolean): string {
  return timestamps ? `${line.at} ${line.text}\n` : `${line.text}\n`;
}

/** A server pod's own facts beside its containers: sandbox made, its IP, start, and when each condition last changed. */
interface ServerPodState {
  sandbox: boolean;
  podIP: string;
  startedAt: Date;
  transitions: Map<string, { status: string; at: Date }>;
}

/** The conditions the kubelet owns (it keeps the others, e.g. readiness gates' and DisruptionTarget). */
const KUBELET_CONDITIONS = new Set([
  'PodReadyToStartContainers',
  'Initialized',
  'Ready',
  'ContainersReady',
  'PodScheduled',
]);

/** A server pod's status as generateAPIPodStatus makes it (phase as getPhase, conditions as status/generate.go). */
function fillServerStatus(
  pod: V1Pod,
  status: V1PodStatus,
  containers: Map<string, ServerContainer>,
  state: ServerPodState,
): void {
  const spec = pod.spec!;
  const generation = pod.metadata?.generation;
  const of = (c: V1Container) => containers.get(c.name)!.status;
  const inits = spec.initContainers ?? [];
  const sidecars = inits.filter((c) => c.restartPolicy === 'Always');
  const builds = inits.filter((c) => c.restartPolicy !== 'Always');
  let [waiting, running, stopped] = [0, 0, 0];
  for (const c of sidecars) {
    const s = of(c);
    if (s.state?.running) running++;
    else if (s.state?.waiting && !s.lastState?.terminated) waiting++;
  }
  for (const c of spec.containers) {
    const s = of(c);
    if (s.state?.running) running++;
    else if (s.state?.terminated || s.lastState?.terminated) stopped++;
    else waiting++;
  }
  const mainStarted = spec.containers.some((c) => {
    const s = of(c);
    return Boolean(s.state?.running ?? s.state?.terminated ?? s.lastState?.terminated);
  });
  const buildsPending = builds.some((c) => of(c).state?.terminated?.exitCode !== 0);
  // restartPolicy Always: containers that exited are being restarted, so the pod is still Running.
  status.phase =
    (buildsPending && !mainStarted) || waiting > 0
      ? 'Pending'
      : running + stopped > 0
        ? 'Running'
        : 'Pending';

  const list = (names: string[]) => `[${names.join(' ')}]`; // Go's %s of a []string
  const condition = (type: string, ok: boolean, reason?: string, message?: string): V1PodCondition => {
    const value = ok ? 'True' : 'False';
    // Unchanged, a condition keeps its time, also one written before the kubelet's first (the binding's
    // PodScheduled), as the status manager's updateLastTransitionTime does.
    const written = status.conditions?.find((c) => c.type === type);
    const previous =
      state.transitions.get(type) ??
      (written?.lastTransitionTime ? { status: written.status, at: written.lastTransitionTime } : undefined);
    const at = previous?.status === value ? previous.at : new Date();
    state.transitions.set(type, { status: value, at });
    return {
      type,
      status: value,
      lastTransitionTime: at,
      ...(generation === undefined ? {} : { observedGeneration: generation }),
      ...(reason ? { reason } : {}),
      ...(message ? { message } : {}),
    };
  };
  const kept = (status.conditions ?? []).filter((c) => !KUBELET_CONDITIONS.has(c.type));
  const incomplete = inits
    .filter((c) => (c.restartPolicy === 'Always' ? !of(c).started : !of(c).ready))
    .map((c) => c.name);
  const initialized = mainStarted || incomplete.length === 0;
  const unready = [...sidecars, ...spec.containers].filter((c) => !of(c).ready).map((c) => c.name);
  const gates = (spec.readinessGates ?? []).flatMap((g) => {
    const c = kept.find((k) => k.type === g.conditionType);
    if (!c) return [`corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`];
    return c.status === 'True'
      ? []
      : [`the status of pod readiness gate "${g.conditionType}" is not "True", but ${c.status}`];
  });
  const notReady = `containers with unready status: ${list(unready)}`;
  status.conditions = [
    ...kept,
    condition('PodReadyToStartContainers', state.sandbox),
    initialized
      ? condition('Initialized', true)
      : condition(
          'Initialized',
          false,
          'ContainersNotInitialized',
          `containers with incomplete status: ${list(incomplete)}`,
        ),
    unready.length > 0
      ? condition('Ready', false, 'ContainersNotReady', notReady)
      : gates.length > 0
        ? condition('Ready', false, 'ReadinessGatesNotReady', gates.join(', '))
        : condition('Ready', true),
    unready.length > 0
      ? condition('ContainersReady', false, 'ContainersNotReady', notReady)
      : condition('ContainersReady', true),
    condition('PodScheduled', true),
  ];
  if (generation !== undefined) status.observedGeneration = generation;
  status.hostIP = '127.0.0.1';
  status.hostIPs = [{ ip: '127.0.0.1' }];
  // The pod has an IP once its sandbox (network namespace) exists.
  if (state.sandbox) {
    status.podIP = state.podIP;
    status.podIPs = [{ ip: state.podIP }];
  }
  status.startTime = state.startedAt;
  if (inits.length > 0) status.initContainerStatuses = inits.map((c) => ({ ...of(c) }));
  // The kubelet sorts the regular containers' statuses by name (SortedContainerStatuses).
  status.containerStatuses = spec.containers
    .map((c) => ({ ...of(c) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The run of a server container whose log the kubelet serves, or its error (validateContainerLogStatus): `previous`
 * is the last exited run; otherwise the current run, or when waiting to restart the last exited one.
 */
function serverLog(pod: string, c: ServerContainer, previous: boolean): ContainerLog | string {
  const name = c.spec.name;
  const state = c.status.state;
  const last = c.lastRun === undefined ? undefined : c.runs[c.lastRun];
  if (previous) return last ?? `previous terminated container "${name}" in pod "${pod}" not found`;
  if (state?.running || state?.terminated) return c.runs[c.runs.length - 1]!;
  if (last) return last;
  const waiting = `container "${name}" in pod "${pod}" is waiting to start`;
  const reason = state?.waiting?.reason;
  switch (reason) {
    case 'ErrImagePull':
      return `${waiting}: image can't be pulled`;
    case 'ImagePullBackOff':
      return `${waiting}: trying and failing to pull image`;
    case undefined:
      return `${waiting} - no logs yet`;
    default:
      return `${waiting}: ${reason}`;
  }
}

/** An image as containerd names it: Docker Hub's registry and library/ filled in, :latest when untagged. */
export function containerdImage(image: string): string {
  const slash = image.indexOf('/');
  const first = slash < 0 ? '' : image.slice(0, slash);
  const registry = first.includes('.') || first.includes(':') || first === 'localhost';
  const full = registry ? image : `docker.io/${slash < 0 ? 'library/' : ''}${image}`;
  return /[:@][^/]*$/.test(full) ? full : `${full}:latest`;
}

/** Seconds as Go prints a time.Duration (10s, 1m20s, 5m0s), as in the kubelet's back-off messages. */
function goDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes > 0 ? `${minutes}m${seconds % 60}s` : `${seconds}s`;
}
