// The output of an app's last step, from where Kappa keeps it: the tail kept in the workflow history (an ssh
// step's output, a pod step's log), or, for a pod step whose pod is still there (running, or kept by keepPod), the
// pod's own logs read from Kubernetes, build containers and main, whole.
import type { Readable } from 'node:stream';
import type { WorkerConfig } from '../config/worker-config.js';
import type * as KubeModule from '../kubernetes/clients.js';
import { buildPodManifest, MAIN_CONTAINER } from '../kubernetes/pod-manifest.js';
import { ageOf } from './app-status.js';
import type { StepRun } from './step-history.js';
import { lastBytes } from './yarn-logs.js';

/** One line on what the step was and how it went, for stderr: `step "submit" (ssh on edge-1), attempt 2, …`. */
export function describeStep(run: StepRun, now = Date.now()): string {
  const { step, attempt } = run.input;
  const where = step.pod ? 'pod' : step.service ? 'service' : `ssh on ${step.ssh?.host ?? '?'}`;
  const ago = (d: Date | undefined) => (d ? `${ageOf(d.toISOString(), now)} ago` : '');
  const how =
    run.state === 'running'
      ? `running since ${ago(run.scheduledAt)}`
      : `${run.state === 'succeeded' ? 'succeeded' : run.state === 'cancelled' ? 'was cancelled' : run.state === 'timedOut' ? 'timed out' : 'failed'} ${ago(run.endedAt)}`;
  const error = run.error ? `: ${run.error.split('\n')[0]}` : '';
  return `step "${step.name}" (${where}), attempt ${attempt}, ${how}${error}`;
}

/** The pod of a pod step and the containers worth reading (build containers, then main; not sidecars). */
function podOf(run: StepRun, workflowId: string, config: WorkerConfig) {
  const { step } = run.input;
  if (!step.pod) return undefined;
  const manifest = buildPodManifest(
    step.pod,
    {
      app: run.input.app,
      step: step.name,
      attempt: run.input.attempt,
      revision: run.input.revision,
      workflowId,
      runId: run.runId,
    },
    config.kubernetes,
  );
  const builds = (manifest.spec?.initContainers ?? []).filter((c) => c.restartPolicy !== 'Always');
  return {
    namespace: run.pod?.namespace ?? manifest.metadata!.namespace!,
    name: run.pod?.name ?? manifest.metadata!.name!,
    containers: [...builds.map((c) => c.name), MAIN_CONTAINER],
  };
}

/** Whether the step's pod should still exist: the step runs, or keepPod kept it. */
function podKept(run: StepRun): boolean {
  const keep = run.input.step.pod?.keepPod;
  if (run.state === 'running') return true;
  if (run.state === 'cancelled') return false;
  return keep === 'always' || (keep === 'onFailure' && run.state !== 'succeeded');
}

export interface StepOutputOptions {
  follow: boolean;
  limitBytes: number;
  signal: AbortSignal;
  /** Notes for people (stderr). */
  note: (message: string) => void;
  write: (text: string) => void;
}

/**
 * Prints the step's output: the pod's logs when its pod is there (following them with `follow` while it runs),
 * else the tail Kappa kept. Returns false when there is nothing to show.
 */
export async function printStepOutput(
  run: StepRun,
  workflowId: string,
  config: WorkerConfig,
  options: StepOutputOptions,
): Promise<boolean> {
  const pod = podOf(run, workflowId, config);
  if (pod && podKept(run)) {
    try {
      await printPodLogs(pod, run.state === 'running' && options.follow, options);
      return true;
    } catch (err) {
      options.note(
        `cannot read pod ${pod.namespace}/${pod.name}: ${(err as Error).message}; the tail Kappa kept:`,
      );
    }
  }
  if (run.state === 'running' && !run.input.step.pod) {
    options.note(
      `an ssh step's output is kept when it ends; meanwhile it is in the worker's log (JSON lines with app "${run.input.app}" and step "${run.input.step.name}")`,
    );
    return false;
  }
  if (!run.outputTail) return false;
  options.write(run.outputTail.replace(/\n?$/, '\n'));
  return true;
}

async function printPodLogs(
  pod: { namespace: string; name: string; containers: string[] },
  follow: boolean,
  options: StepOutputOptions,
): Promise<void> {
  // Loaded on use: the Kubernetes client costs the CLI's start-up time, and only a pod step needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const kube = (require('../kubernetes/clients.js') as typeof KubeModule).kubeClients();
  for (const container of pod.containers) {
    const stream = await kube.podLog(pod.namespace, pod.name, container, { follow }, options.signal);
    if (pod.containers.length > 1) options.write(`==> ${pod.name} ${container} <==\n`);
    if (!stream) {
      options.write('(no log yet: the pod is not on a node)\n');
      continue;
    }
    if (follow) await pipeLines(stream, options.write);
    else options.write(lastBytes(withoutTimestamps(await readAll(stream)), options.limitBytes));
  }
}

/** The API server's `timestamps=true` prefix of each line (kubeClients always asks for it). */
function withoutTimestamps(text: string): string {
  return text.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /gm, '');
}

async function readAll(stream: Readable): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += (chunk as Buffer).toString('utf8');
  return text;
}

async function pipeLines(stream: Readable, write: (text: string) => void): Promise<void> {
  let partial = '';
  try {
    for await (const chunk of stream) {
      partial += (chunk as Buffer).toString('utf8');
      const end = partial.lastIndexOf('\n') + 1;
      write(withoutTimestamps(partial.slice(0, end)));
      partial = partial.slice(end);
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  }
  if (partial) write(`${withoutTimestamps(partial)}\n`);
}
