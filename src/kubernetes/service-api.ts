// The Kubernetes calls of a model service: server-side apply of its Deployment and Service, reading a rollout
// (the Deployment, its ReplicaSets, its pods), and deleting both until they are gone. Errors carry the API
// server's own words; a refusal (403) is a non-retryable NotConfigured naming the verb, resource and namespace.
import {
  AppsV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import { formatDuration } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { KubeClients } from './clients.js';
import { kubeError, sleep, statusCode } from './pod-api.js';
import type { RolloutView } from './service-judge.js';
import {
  foreignObject,
  SERVICE_FIELD_MANAGER,
  ServiceLabel,
  type ServiceManifests,
} from './service-manifest.js';

/**
 * What the calls need of a service's manifests (service-manifest.ts builds them): names are deterministic, so
 * applying again never makes a second object.
 */
export type ServiceObjects = Pick<
  ServiceManifests,
  'name' | 'namespace' | 'deployment' | 'service' | 'url' | 'host' | 'port' | 'selector'
>;

const apps = new WeakMap<KubeClients, AppsV1Api>();

/** The apps/v1 client of these clients (made once). */
export function appsApi(kube: KubeClients): AppsV1Api {
  let api = apps.get(kube);
  if (!api) apps.set(kube, (api = kube.config.makeApiClient(AppsV1Api)));
  return api;
}

/**
 * The typed client sends a PATCH as `application/json-patch+json` whatever the body; server-side apply needs
 * `application/apply-patch+yaml` (JSON is YAML, so the JSON body it serializes is fine). A middleware sets it.
 */
const APPLY = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

/**
 * Server-side applies the Deployment, then the Service, as field manager `kappa` with `force` (Kappa owns the
 * fields it sets, even ones someone else changed by hand, e.g. `kubectl scale`). An apply of an object that does
 * not exist creates it, so a retried or concurrent apply ends with the same single object. `Strict` field
 * validation: a field the server does not know is an error, never silently dropped.
 */
export async function applyService(
  kube: KubeClients,
  objects: ServiceObjects,
): Promise<{ deployment: V1Deployment; service: V1Service }> {
  const { namespace, name } = objects;
  await refuseForeignObjects(kube, objects);
  const common = {
    namespace,
    name,
    fieldManager: SERVICE_FIELD_MANAGER,
    force: true,
    fieldValidation: 'Strict',
  };
  let deployment: V1Deployment;
  try {
    deployment = await appsApi(kube).patchNamespacedDeployment(
      { ...common, body: { apiVersion: 'apps/v1', kind: 'Deployment', ...objects.deployment } },
      APPLY,
    );
  } catch (err) {
    throw kubeError(err, `apply (patch) deployments.apps ${namespace}/${name}`);
  }
  let service: V1Service;
  try {
    service = await kube.core.patchNamespacedService(
      { ...common, body: { apiVersion: 'v1', kind: 'Service', ...objects.service } },
      APPLY,
    );
  } catch (err) {
    throw kubeError(err, `apply (patch) services ${namespace}/${name}`);
  }
  return { deployment, service };
}

/** The labels of the Deployment and the Service of this name that exist (a 404 leaves one out). */
async function existingLabels(
  kube: KubeClients,
  namespace: string,
  name: string,
): Promise<[what: string, labels: Record<string, string> | undefined][]> {
  const found: [string, Record<string, string> | undefined][] = [];
  const deployment = await readDeployment(kube, namespace, name);
  if (deployment) found.push([`Deployment ${namespace}/${name}`, deployment.metadata?.labels]);
  try {
    const service = await kube.core.readNamespacedService({ namespace, name });
    found.push([`Service ${namespace}/${name}`, service.metadata?.labels]);
  } catch (err) {
    if (statusCode(err) !== 404) throw kubeError(err, `get services ${namespace}/${name}`);
  }
  return found;
}

/**
 * An InvalidConfig failure when a Deployment or Service of this name is another app's, or not Kappa's: applying
 * with `force` would take it over (two apps' streams behind one Service), and deleting it later would delete theirs.
 */
async function refuseForeignObjects(kube: KubeClients, objects: ServiceObjects): Promise<void> {
  const { namespace, name, selector } = objects;
  for (const [what, labels] of await existingLabels(kube, namespace, name)) {
    const problem = foreignObject(what, labels, selector);
    if (!problem) continue;
    const app = selector[ServiceLabel.app] ?? '?';
    const step = selector[ServiceLabel.step] ?? '?';
    throw ApplicationFailure.create({
      type: FailureType.InvalidConfig,
      nonRetryable: true,
      message:
        `${problem}, so app "${app}" step "${step}" cannot use the name "${name}" (a model service is named ` +
        '<app>-<step>): rename the step, or remove the other object',
    });
  }
}

/** The Deployment, or undefined when there is none (404). */
export async function readDeployment(
  kube: KubeClients,
  namespace: string,
  name: string,
): Promise<V1Deployment | undefined> {
  try {
    return await appsApi(kube).readNamespacedDeployment({ namespace, name });
  } catch (err) {
    if (statusCode(err) === 404) return undefined;
    throw kubeError(err, `get deployments.apps ${namespace}/${name}`);
  }
}

/** `a=1,b=2` */
export function labelSelector(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * The rollout as the judge sees it: the Deployment, the ReplicaSets and pods its selector matches; undefined
 * when the Deployment does not exist.
 */
export async function readRollout(
  kube: KubeClients,
  namespace: string,
  name: string,
  selector: Record<string, string>,
): Promise<RolloutView | undefined> {
  const deployment = await readDeployment(kube, namespace, name);
  if (!deployment) return undefined;
  const query = { namespace, labelSelector: labelSelector(selector) };
  const [replicaSets, pods] = await Promise.all([
    appsApi(kube)
      .listNamespacedReplicaSet(query)
      .then(
        (l): V1ReplicaSet[] => l.items,
        (err: unknown) => Promise.reject(kubeError(err, `list replicasets.apps in ${namespace}`)),
      ),
    kube.core.listNamespacedPod(query).then(
      (l): V1Pod[] => l.items,
      (err: unknown) => Promise.reject(kubeError(err, `list pods in ${namespace}`)),
    ),
  ]);
  return { deployment, replicaSets, pods };
}

export interface DeleteServiceOptions {
  /** How long to wait for both objects to be gone (404); default 2 minutes. */
  waitMs?: number;
  signal?: AbortSignal;
  log?: (message: string) => void;
}

/**
 * Deletes the Deployment and the Service and waits until both are gone (404). The Deployment is deleted with
 * propagationPolicy Foreground: it stays (with a deletionTimestamp) until the garbage collector has deleted its
 * ReplicaSets and they their pods, so "gone" means no pod of the model is left serving or holding its resources,
 * and a later service of the same name can never find old pods behind its Service. The Service has no dependent
 * that matters (its EndpointSlices): Background. Not gone within `waitMs`: a retryable error naming what is left
 * (another try deletes again; a 404 is already done). An object of the name that is another app's, or not Kappa's
 * (foreignObject), is left alone and said in the log.
 */
export async function deleteService(
  kube: KubeClients,
  { namespace, name, selector }: Pick<ServiceObjects, 'namespace' | 'name' | 'selector'>,
  options: DeleteServiceOptions = {},
): Promise<void> {
  const kinds = [
    {
      what: 'deployments.apps',
      label: 'Deployment',
      read: () => appsApi(kube).readNamespacedDeployment({ namespace, name }),
      remove: () =>
        appsApi(kube).deleteNamespacedDeployment({ namespace, name, propagationPolicy: 'Foreground' }),
    },
    {
      what: 'services',
      label: 'Service',
      read: () => kube.core.readNamespacedService({ namespace, name }),
      remove: () => kube.core.deleteNamespacedService({ namespace, name, propagationPolicy: 'Background' }),
    },
  ];
  const ours: typeof kinds = [];
  for (const kind of kinds) {
    let labels: Record<string, string> | undefined;
    try {
      labels = (await kind.read()).metadata?.labels;
    } catch (err) {
      if (statusCode(err) === 404) continue;
      throw kubeError(err, `get ${kind.what} ${namespace}/${name}`);
    }
    const problem = foreignObject(`${kind.label} ${namespace}/${name}`, labels, selector);
    if (problem) options.log?.(`left alone: ${problem}`);
    else ours.push(kind);
  }
  for (const kind of ours) {
    try {
      await kind.remove();
    } catch (err) {
      if (statusCode(err) !== 404) throw kubeError(err, `delete ${kind.what} ${namespace}/${name}`);
    }
  }
  const waitMs = options.waitMs ?? 120_000;
  const started = Date.now();
  for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
    const left: string[] = [];
    for (const kind of ours) {
      try {
        await kind.read();
        left.push(kind.what);
      } catch (err) {
        if (statusCode(err) === 404) continue;
        if (statusCode(err) === 403) throw kubeError(err, `get ${kind.what} ${namespace}/${name}`);
        left.push(`${kind.what} (unknown: ${(err as Error).message})`); // the API server may be restarting
      }
    }
    if (left.length === 0) {
      if (ours.length > 0) {
        options.log?.(`deleted ${ours.map((k) => k.label).join(' and ')} ${namespace}/${name}`);
      }
      return;
    }
    if (options.signal?.aborted) throw new Error(`stopped waiting for ${namespace}/${name} to be deleted`);
    if (Date.now() - started >= waitMs) {
      throw new Error(
        `${left.join(' and ')} ${namespace}/${name} still there ${formatDuration(Date.now() - started)} after ` +
          'the deletion (a Deployment waits for its pods to end: their grace period, or a finalizer)',
      );
    }
    await sleep(delay);
  }
}
