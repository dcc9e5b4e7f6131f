// Pod calls on the API server that every pod step makes, with the server's own error messages.
import type { V1Pod } from '@kubernetes/client-node';
import type { StepContext } from '../ports.js';
import type { KubeClients } from './clients.js';

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

export async function deletePod(
  kube: KubeClients,
  namespace: string,
  name: string,
  ctx: StepContext,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kube.core.deleteNamespacedPod({ namespace, name });
      ctx.log(`deleted pod ${namespace}/${name}`);
      return;
    } catch (err) {
      if (statusCode(err) === 404) return;
      if (attempt >= 5) throw kubeError(err, `delete pod ${namespace}/${name}`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

export function statusCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's own message (from its Status body) rather than the client's generic one. */
export function kubeError(err: unknown, what: string): Error {
  const body = (err as { body?: unknown }).body;
  let message = (err as Error).message;
  try {
    const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string } | undefined;
    if (parsed?.message) message = parsed.message;
  } catch {
    // keep the client's message
  }
  return new Error(`${what}: ${message}`);
}
