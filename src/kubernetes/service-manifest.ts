// The Deployment and ClusterIP Service a `service` step runs (a model server), built from the step alone (pure),
// as full objects for server-side apply. The names do not depend on the revision or attempt, so every revision
// applies to the same two objects and later steps' `${steps.<name>.url}` is known before anything runs.
import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1Deployment,
  V1PodTemplateSpec,
  V1Probe,
  V1Service,
} from '@kubernetes/client-node';
import { durationMs } from '../common/duration.js';
import type { ReadinessProbe, ServiceStep, Step } from '../config/app-config.js';
import type { StepRefValues } from '../config/step-refs.js';
import {
  containerEnv,
  containerResources,
  containerSecurityContext,
  PodAnnotation,
  PodLabel,
  podSecurityContext,
} from './pod-manifest.js';

/** The field manager of Kappa's server-side applies: the fields Kappa sets are Kappa's. */
export const SERVICE_FIELD_MANAGER = 'kappa';

/** Labels on the Deployment, its pods and the Service. */
export const ServiceLabel = {
  app: PodLabel.app,
  step: PodLabel.step,
  revision: PodAnnotation.revision,
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export const ServiceAnnotation = {
  /**
   * On the pod template: a hash of the template Kappa builds from the service spec. A revision whose service spec
   * builds the same template leaves the pods alone; any change to it rolls them (a new ReplicaSet).
   */
  specHash: 'kappa.dev/spec-hash',
} as const;

/** The value of `app.kubernetes.io/managed-by` on Kappa's objects. */
export const MANAGED_BY = 'kappa';
/** The container port's name, which the Service's `targetPort` names. */
export const PORT_NAME = 'http';

/** Where the objects go and what they are of. */
export interface ServiceIdentity {
  app: string;
  step: string;
  revision: number;
  /** The worker config's `kubernetes.namespace` (or already resolved); the step's own `namespace` wins. */
  namespace: string;
  /** The worker config's `kubernetes.serviceAccount` (or already resolved); the step's own wins; '' for none. */
  serviceAccount?: string;
}

export interface ServiceManifests {
  /** Of both objects. */
  name: string;
  namespace: string;
  /** apps/v1 Deployment, whole, for server-side apply. */
  deployment: Record<string, unknown>;
  /** v1 Service, whole, for server-side apply. */
  service: Record<string, unknown>;
  /** `http://<name>.<namespace>.svc:<port>` */
  url: string;
  /** `<name>.<namespace>.svc` */
  host: string;
  port: number;
  /** The Deployment's and Service's selector, also the pods' labels: app and step, never the revision. */
  selector: Record<string, string>;
  /** The pod template's `kappa.dev/spec-hash`: pods carrying it run this spec. */
  specHash: string;
}

/** What a DNS-1035 label allows (Service names): a letter first. */
const DNS1035_START = /^[a-z]/;
const MAX_NAME = 63;

/**
 * `<app>-<step>`, the name of the Deployment and the Service: the same for every revision and attempt. A Service
 * name is a DNS-1035 label, so a name that would start with a digit gets `svc-` in front; one longer than 63
 * characters is cut and ends in a hash of the full name, so different steps stay different.
 */
export function serviceObjectName(app: string, step: string): string {
  const joined = `${app}-${step}`;
  const full = DNS1035_START.test(joined) ? joined : `svc-${joined}`;
  if (full.length <= MAX_NAME) return full;
  const suffix = `-${createHash('sha256').update(full).digest('hex').slice(0, 8)}`;
  return `${full.slice(0, MAX_NAME - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** The selector of a service step's pods. */
export function serviceSelector(app: string, step: string): Record<string, string> {
  return { [ServiceLabel.app]: app, [ServiceLabel.step]: step };
}

/**
 * Why an existing Deployment or Service named like this step's objects is not this step's, or undefined when it is:
 * `<app>-<step>` names can meet (app "a-b" step "c" and app "a" step "b-c"), and an object someone made by hand may
 * carry the name. Kappa must neither take such an object over nor delete it.
 */
export function foreignObject(
  what: string,
  labels: Record<string, string> | undefined,
  selector: Record<string, string>,
): string | undefined {
  if (labels?.[ServiceLabel.managedBy] !== MANAGED_BY) {
    return `${what} exists and is not Kappa's (no label ${ServiceLabel.managedBy}=${MANAGED_BY})`;
  }
  const app = labels[ServiceLabel.app];
  const step = labels[ServiceLabel.step];
  if (app === selector[ServiceLabel.app] && step === selector[ServiceLabel.step]) return undefined;
  return `${what} belongs to app "${app ?? '?'}" step "${step ?? '?'}"`;
}

/** Kubernetes counts probe and deadline times in whole seconds: rounded up, at least 1. */
const seconds = (text: string) => Math.max(1, Math.ceil(durationMs(text) / 1000));

function readinessProbe(probe: ReadinessProbe | undefined, port: number): V1Probe {
  if (!probe) return { tcpSocket: { port }, periodSeconds: 10, failureThreshold: 3 };
  const out: V1Probe = {};
  if (probe.httpGet) out.httpGet = { path: probe.httpGet.path, port: probe.httpGet.port ?? port };
  if (probe.tcpSocket) out.tcpSocket = { port: probe.tcpSocket.port ?? port };
  if (probe.exec) out.exec = { command: [...probe.exec.command] };
  if (probe.initialDelay !== undefined) out.initialDelaySeconds = seconds(probe.initialDelay);
  out.periodSeconds = seconds(probe.period);
  out.failureThreshold = probe.failureThreshold;
  return out;
}

function podTemplate(step: ServiceStep, id: ServiceIdentity, selector: Record<string, string>) {
  const container: V1Container = { name: id.step, image: step.image };
  if (step.command) container.command = [...step.command];
  if (step.args) container.args = [...step.args];
  const env = containerEnv(step);
  if (env) container.env = env;
  container.ports = [{ name: PORT_NAME, containerPort: step.port, protocol: 'TCP' }];
  container.readinessProbe = readinessProbe(step.readinessProbe, step.port);
  const resources = containerResources(step.resources);
  if (resources) container.resources = resources;
  const security = containerSecurityContext(step.securityContext, step.securityProfile);
  if (security) container.securityContext = security;
  const serviceAccount = step.serviceAccount ?? id.serviceAccount;
  const podSecurity = podSecurityContext(step);
  const template: V1PodTemplateSpec = {
    metadata: { labels: { ...selector } },
    spec: {
      ...(serviceAccount ? { serviceAccountName: serviceAccount } : {}),
      // A model server has no business with the Kubernetes API.
      automountServiceAccountToken: false,
      // No `<SERVICE>_PORT=tcp://…` variables for every Service in the namespace: some servers read such names
      // as their own settings, and they would differ from namespace to namespace.
      enableServiceLinks: false,
      ...(podSecurity ? { securityContext: podSecurity } : {}),
      containers: [container],
    },
  };
  return template;
}

/** A stable text of `value`: object keys sorted, so the hash depends on content only. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The Deployment and Service of a service step, for server-side apply with SERVICE_FIELD_MANAGER. The Deployment
 * is labelled with app, step and revision; its selector and pod labels are app and step only (selectors are
 * immutable, and a revision label on the pods would roll them on every deploy). `step` should have its
 * `${steps.…}` references resolved (src/config/step-refs.ts).
 */
export function buildServiceManifests(step: ServiceStep, id: ServiceIdentity): ServiceManifests {
  const name = serviceObjectName(id.app, id.step);
  const namespace = step.namespace ?? id.namespace;
  const selector = serviceSelector(id.app, id.step);
  const labels = {
    ...selector,
    [ServiceLabel.revision]: String(id.revision),
    [ServiceLabel.managedBy]: MANAGED_BY,
  };
  const template = podTemplate(step, id, selector);
  const specHash = createHash('sha256').update(canonical(template)).digest('hex').slice(0, 16);
  template.metadata!.annotations = { [ServiceAnnotation.specHash]: specHash };
  const deployment: V1Deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas: step.replicas,
      selector: { matchLabels: { ...selector } },
      // The server's defaults (maxSurge and maxUnavailable 25%): with one replica, the new pod is ready before
      // the old one goes, so the model stays reachable through an update.
      strategy: { type: 'RollingUpdate' },
      progressDeadlineSeconds: seconds(step.timeout),
      template,
    },
  };
  const service: V1Service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, labels: { ...labels } },
    spec: {
      type: 'ClusterIP',
      selector: { ...selector },
      ports: [{ name: PORT_NAME, port: step.port, targetPort: PORT_NAME, protocol: 'TCP' }],
    },
  };
  const host = `${name}.${namespace}.svc`;
  return {
    name,
    namespace,
    // Plain JSON objects: server-side apply takes exactly these fields, and the typed models add none.
    deployment: JSON.parse(JSON.stringify(deployment)) as Record<string, unknown>,
    service: JSON.parse(JSON.stringify(service)) as Record<string, unknown>,
    url: `http://${host}:${step.port}`,
    host,
    port: step.port,
    selector,
    specHash,
  };
}

/** Where a service step's objects go when the step names no namespace or service account. */
export interface ServiceDefaults {
  namespace: string;
  serviceAccount?: string;
}

/**
 * The values of `${steps.<name>.url|host|port}` for every service step of an app, by step name: what
 * `resolveStepRefs` (src/config/step-refs.ts) takes. They depend on the config and the worker's defaults only,
 * so a restart from a later step resolves them without the service step having run.
 */
export function serviceStepRefs(
  app: string,
  steps: readonly Step[],
  defaults: ServiceDefaults,
): Record<string, StepRefValues> {
  const values: Record<string, StepRefValues> = {};
  for (const step of steps) {
    if (!step.service) continue;
    const namespace = step.service.namespace ?? defaults.namespace;
    const host = `${serviceObjectName(app, step.name)}.${namespace}.svc`;
    values[step.name] = { url: `http://${host}:${step.service.port}`, host, port: step.service.port };
  }
  return values;
}
