// The logs of a pod step's containers, followed into the worker log as they start, with a bounded tail each.
import { Writable } from 'node:stream';
import type { V1Pod } from '@kubernetes/client-node';
import { LineSplitter, OUTPUT_TAIL_CHARS } from '../common/output.js';
import type { StepContext } from '../ports.js';
import type { KubeClients } from './clients.js';

/** Follows the build (init) and main containers' logs as they start, into the worker log and a bounded tail. */
export class LogFollower {
  private readonly streams = new Map<
    string,
    { text: string; ended: Promise<void>; abort?: AbortController }
  >();
  private combined = '';

  constructor(
    private readonly kube: KubeClients,
    private readonly namespace: string,
    private readonly pod: string,
    private readonly ctx: StepContext,
  ) {}

  sync(pod: V1Pod): void {
    const sidecars = new Set(
      (pod.spec?.initContainers ?? [])
        .filter((c) => (c as { restartPolicy?: string }).restartPolicy === 'Always')
        .map((c) => c.name),
    );
    const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    for (const c of statuses) {
      if (sidecars.has(c.name) || this.streams.has(c.name) || !(c.state?.running || c.state?.terminated))
        continue;
      this.follow(c.name);
    }
  }

  private follow(container: string): void {
    const lines = new LineSplitter((line) => this.ctx.log(line, { container, pod: this.pod }));
    const entry: { text: string; ended: Promise<void>; abort?: AbortController } = {
      text: '',
      ended: Promise.resolve(),
    };
    const out = new Writable({
      write: (chunk: Buffer, _enc, callback) => {
        const text = chunk.toString('utf8');
        entry.text = (entry.text + text).slice(-OUTPUT_TAIL_CHARS * 4);
        this.combined = (this.combined + text).slice(-OUTPUT_TAIL_CHARS);
        lines.push(text);
        callback();
      },
    });
    entry.ended = new Promise((resolve) => {
      out.on('finish', () => resolve());
      out.on('close', () => resolve());
      out.on('error', () => resolve());
    });
    this.streams.set(container, entry);
    this.kube.log(this.namespace, this.pod, container, out).then(
      (abort) => (entry.abort = abort),
      (err: unknown) => {
        this.ctx.log(`cannot follow the log of ${container}: ${(err as Error).message}`);
        out.end();
      },
    );
  }

  /** Waits briefly for the streams of finished containers to drain. */
  async finish(): Promise<void> {
    await Promise.race([
      Promise.all([...this.streams.values()].map((s) => s.ended)),
      new Promise((r) => setTimeout(r, 2_000)),
    ]);
  }

  stop(): void {
    for (const s of this.streams.values()) s.abort?.abort();
  }

  text(container: string): string {
    return this.streams.get(container)?.text ?? '';
  }

  tail(container?: string): string {
    return (container ? this.text(container) : this.combined).slice(-OUTPUT_TAIL_CHARS);
  }
}
