// The logs of a pod step's build (init) and main containers, into the worker log and a bounded tail each. A
// container's log is followed from when it starts; a stream that breaks (an API server restart, a dropped
// connection) is followed again from where it stopped (`sinceTime` of the last line, lines already read skipped
// by their timestamps); once the container has terminated its log is read once more with a plain GET, so the
// tail is whole however the stream went. "No log yet" (204: the pod has no node) is not an error: tried later.
import type { Readable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../common/duration.js';
import { LineSplitter, OUTPUT_TAIL_CHARS } from '../common/output.js';
import type { StepContext } from '../ports.js';
import type { KubeClients } from './clients.js';
import { serverMessage, sleep } from './pod-api.js';

/** How long `finish` waits for the final reads of terminated containers. */
const FINISH_MS = 20_000;
const RETRY_MS = { first: 500, max: 10_000 };

interface ContainerLog {
  name: string;
  terminated: boolean;
  /** A request (follow or final read) is in flight. */
  busy: boolean;
  /** The final read is done (or was given up). */
  done: boolean;
  /** The last line read: its timestamp key and how many lines carried that very timestamp. */
  position?: { key: string; same: number; sinceTime: string };
  text: string;
  retryMs: number;
  timer?: NodeJS.Timeout;
  abort?: AbortController;
  lastProblem?: string;
  final?: Promise<void>;
}

/** Follows the build (init) and main containers' logs as they start, into the worker log and a bounded tail. */
export class LogFollower {
  private readonly containers = new Map<string, ContainerLog>();
  private stopped = false;

  constructor(
    private readonly kube: KubeClients,
    private readonly namespace: string,
    private readonly pod: string,
    private readonly ctx: StepContext,
  ) {}

  /** Starts following containers that have started; notes the ones that have terminated. */
  sync(pod: V1Pod): void {
    const sidecars = new Set(
      (pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
    );
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const status of statuses) {
      if (sidecars.has(status.name) || !(status.state?.running || status.state?.terminated)) continue;
      let c = this.containers.get(status.name);
      if (!c) {
        c = {
          name: status.name,
          terminated: false,
          busy: false,
          done: false,
          text: '',
          retryMs: RETRY_MS.first,
        };
        this.containers.set(status.name, c);
      }
      if (status.state.terminated && !c.terminated) {
        c.terminated = true;
        // A follow waiting to be tried again gives way to the final read at once.
        clearTimeout(c.timer);
        c.timer = undefined;
      }
      this.kick(c);
    }
  }

  /**
   * The step is over: terminated containers get their final read (an open follow is cut: the read picks up
   * after its last line), bounded by 20 s; the others stop being followed.
   */
  async finish(): Promise<void> {
    for (const c of this.containers.values()) {
      if (c.terminated && !c.done && c.busy && !c.final) c.abort?.abort();
    }
    const finals = [...this.containers.values()]
      .filter((c) => c.terminated && !c.done)
      .map(
        (c) =>
          new Promise<void>((resolve) => {
            const check = () => (c.done ? resolve() : setTimeout(check, 50));
            check();
          }),
      );
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      Promise.all(finals).then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), FINISH_MS))),
    ]);
    clearTimeout(timer);
    if (timedOut) this.ctx.log(`gave up reading the final logs after ${formatDuration(FINISH_MS)}`);
    this.stop();
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.containers.values()) {
      clearTimeout(c.timer);
      c.abort?.abort();
    }
  }

  text(container: string): string {
    return this.containers.get(container)?.text ?? '';
  }

  /** One container's tail, or that of all of them in the order they started (the build's, then main's). */
  tail(container?: string): string {
    const text = container
      ? this.text(container)
      : [...this.containers.values()].map((c) => c.text.slice(-OUTPUT_TAIL_CHARS)).join('');
    return text.slice(-OUTPUT_TAIL_CHARS);
  }

  private kick(c: ContainerLog): void {
    if (this.stopped || c.done || c.busy || c.timer) return;
    if (c.terminated) c.final = this.finalRead(c);
    else void this.follow(c);
  }

  private later(c: ContainerLog): void {
    const delay = c.retryMs;
    c.retryMs = Math.min(delay * 2, RETRY_MS.max);
    c.timer = setTimeout(() => {
      c.timer = undefined;
      this.kick(c);
    }, delay);
  }

  private async follow(c: ContainerLog): Promise<void> {
    c.busy = true;
    const abort = (c.abort = new AbortController());
    let read = 0;
    try {
      const body = await this.kube.podLog(
        this.namespace,
        this.pod,
        c.name,
        { follow: true, ...(c.position ? { sinceTime: c.position.sinceTime } : {}) },
        abort.signal,
      );
      if (body) read = await this.read(c, body, false);
      // undefined: 204, the pod has no node yet; quietly tried again
    } catch (err) {
      if (!abort.signal.aborted && !this.stopped) this.problem(c, err);
    } finally {
      c.busy = false;
      c.abort = undefined;
    }
    if (this.stopped) return;
    if (read > 0) c.retryMs = RETRY_MS.first;
    // A follow ends when the container does (its status says so soon) or when the connection breaks.
    if (c.terminated) this.kick(c);
    else this.later(c);
  }

  /** A plain GET from the last line read on (the whole log when none was): what the follow missed. */
  private async finalRead(c: ContainerLog): Promise<void> {
    c.busy = true;
    const started = Date.now();
    try {
      for (let pause = RETRY_MS.first; ; pause = Math.min(pause * 2, RETRY_MS.max)) {
        const abort = (c.abort = new AbortController());
        try {
          const body = await this.kube.podLog(
            this.namespace,
            this.pod,
            c.name,
            c.position ? { sinceTime: c.position.sinceTime } : {},
            abort.signal,
          );
          if (body) await this.read(c, body, true);
          return;
        } catch (err) {
          if (this.stopped) return;
          this.problem(c, err);
          if (Date.now() - started > FINISH_MS) return;
          await sleep(pause);
        }
      }
    } finally {
      c.busy = false;
      c.abort = undefined;
      c.done = true;
    }
  }

  /** Reads a log body to its end; lines already read (by timestamp) are skipped. Returns the lines taken. */
  private async read(c: ContainerLog, body: Readable, complete: boolean): Promise<number> {
    let taken = 0;
    let replayed = 0;
    const lines = new LineSplitter((raw) => {
      const line = parseLine(raw);
      const at = c.position;
      if (line.key !== undefined && at) {
        if (line.key < at.key) return;
        if (line.key === at.key) {
          replayed++;
          if (replayed <= at.same) return;
          at.same++;
        } else {
          c.position = { key: line.key, same: 1, sinceTime: line.sinceTime! };
          replayed = 1;
        }
      } else if (line.key !== undefined) {
        c.position = { key: line.key, same: 1, sinceTime: line.sinceTime! };
        replayed = 1;
      }
      taken++;
      c.text = (c.text + line.text + '\n').slice(-OUTPUT_TAIL_CHARS * 4);
      this.ctx.log(line.text, { container: c.name, pod: this.pod });
    });
    body.setEncoding('utf8');
    for await (const chunk of body as AsyncIterable<string>) lines.push(chunk);
    // A stream cut mid-line leaves a fragment: only a complete read hands over a last line without a newline.
    if (complete) lines.flush();
    return taken;
  }

  private problem(c: ContainerLog, err: unknown): void {
    const message = serverMessage(err);
    if (message === c.lastProblem) return;
    c.lastProblem = message;
    this.ctx.log(
      `log of container "${c.name}" interrupted (${message}); reading it again from its last line`,
    );
  }
}

const STAMPED = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) (.*)$/s;

/**
 * A line as `timestamps=true` gives it: `<RFC3339Nano> <text>`. The key orders timestamps (milliseconds since the
 * epoch, then the fraction to nanoseconds); `sinceTime` is its whole second. A line without one is taken as is.
 */
function parseLine(raw: string): { text: string; key?: string; sinceTime?: string } {
  const match = STAMPED.exec(raw);
  const seconds = match ? Date.parse(`${match[1]}${match[3]}`) : NaN;
  if (!match || Number.isNaN(seconds)) return { text: raw };
  return {
    text: match[4]!,
    key: `${String(seconds).padStart(15, '0')}.${(match[2] ?? '').padEnd(9, '0')}`,
    sinceTime: `${new Date(seconds).toISOString().slice(0, 19)}Z`,
  };
}
