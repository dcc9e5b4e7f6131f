// Pod calls on the API server that every pod step makes, with the server's own error messages.
import { ApplicationFailure } from '@temporalio/common';
import type { V1Pod } from '@kubernetes/client-node';
import { formatDuration } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { StepContext } from '../ports.js';
import type { KubeClients } from './clients.js';

/** Beyond the pod's grace period, how long a deleted pod may stay Terminating before the step stops waiting. */
const DELETE_WAIT_MARGIN_MS = 30_000;

export async function readPod(
  kube: KubeClients,
  namespace: string,
  name: string,
): Promise<V1Pod | undefined> {
  try {
    return await kube.core.readNamespacedPod({ namespace, name });
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw kubeError(err, `read pod ${namespace}/${name}`);
  }
}

/**
 * Deletes the pod and waits until it is gone (404, or a pod of that name with another uid): the DELETE's 200 only
 * starts the pod's graceful termination. The wait is bounded by the grace period plus 30 s (`waitMs` instead,
 * when given); a pod still there by then is logged and left to the kubelet.
 */
export async function deletePod(
  kube: KubeClients,
  namespace: string,
  name: string,
  ctx: StepContext,
  waitMs?: number,
): Promise<void> {
  let terminating: V1Pod;
  for (let attempt = 1; ; attempt++) {
    try {
      terminating = await kube.core.deleteNamespacedPod({ namespace, name });
      break;
    } catch (err) {
      if (statusCode(err) === 404) return ctx.log(`pod ${namespace}/${name} was already gone`);
      if (attempt >= 5) throw kubeError(err, `delete pod ${namespace}/${name}`);
      await sleep(500 * attempt);
    }
  }
  const uid = terminating.metadata?.uid;
  const graceSeconds =
    terminating.metadata?.deletionGracePeriodSeconds ?? terminating.spec?.terminationGracePeriodSeconds ?? 30;
  const limitMs = waitMs ?? graceSeconds * 1000 + DELETE_WAIT_MARGIN_MS;
  const started = Date.now();
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    let pod: V1Pod | undefined | 'unknown';
    try {
      pod = await readPod(kube, namespace, name);
    } catch {
      pod = 'unknown'; // the API server may be restarting: keep waiting within the bound
    }
    if (pod === undefined || (pod !== 'unknown' && uid !== undefined && pod.metadata?.uid !== uid)) {
      ctx.log(`deleted pod ${namespace}/${name}`);
      return;
    }
    if (Date.now() - started >= limitMs) {
      ctx.log(
        `pod ${namespace}/${name} is still terminating ${formatDuration(Date.now() - started)} after its deletion ` +
          `(grace period ${graceSeconds}s); not waiting longer: its node's kubelet finishes it`,
      );
      return;
    }
    ctx.heartbeat();
    await sleep(delay);
  }
}

export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message (from its Status body) rather than the client's generic one. */
export function serverMessage(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string } | undefined;
    if (parsed?.message) return parsed.message;
  } catch {
    // not a Status
  }
  const message = err instanceof Error ? err.message : String(err);
  // The client's ApiException message carries the whole response, headers included: its status is enough.
  const code = statusCode(err);
  return message.startsWith('HTTP-Code:') && code !== undefined ? `HTTP ${code}` : message;
}

/**
 * An API error as the step reports it. A refusal (403: RBAC or admission) or a pod the server finds invalid
 * (400, 422) is final: another try would be refused the same way. Anything else may pass and is retried.
 */
export function kubeError(err: unknown, what: string): Error {
  const code = statusCode(err);
  const message = `${what}: ${serverMessage(err)}`;
  if (code === 403) return forbidden(message);
  if (code === 400 || code === 422) {
    return ApplicationFailure.create({ type: FailureType.InvalidConfig, nonRetryable: true, message });
  }
  return new Error(message);
}

/** The worker's Kubernetes identity lacks a permission: a NotConfigured failure with the server's own words. */
export function forbidden(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.NotConfigured,
    nonRetryable: true,
    message: `${message} (the worker's Kubernetes identity needs this permission: see config/kubernetes/rbac.yaml)`,
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
