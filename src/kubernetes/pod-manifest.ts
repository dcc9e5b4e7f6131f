// The pod a `pod` step runs, built from the step alone (pure): init containers (the build) run first, sidecars
// run beside them and the main container as native sidecars, and the main container's exit decides the step.
import { createHash } from 'node:crypto';
import type {
  V1Container,
  V1EnvVar,
  V1Pod,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
} from '@kubernetes/client-node';
import { durationMs } from '../common/duration.js';
import {
  SecurityProfile,
  type Container,
  type PodSecurityContext,
  type PodStep,
  type SecurityContext,
} from '../config/app-config.js';

export const MAIN_CONTAINER = 'main';
const SHARED_VOLUME = 'kappa-shared';

export const PodLabel = {
  app: 'kappa.dev/app',
  step: 'kappa.dev/step',
  attempt: 'kappa.dev/attempt',
} as const;

export const PodAnnotation = {
  workflowId: 'kappa.dev/workflow-id',
  runId: 'kappa.dev/run-id',
  revision: 'kappa.dev/revision',
} as const;

export interface PodIdentity {
  app: string;
  step: string;
  attempt: number;
  revision: number;
  workflowId: string;
  runId: string;
}

export interface PodDefaults {
  namespace: string;
  serviceAccount?: string;
}

/**
 * `<app>-<step>-<attempt>-<run>`, `<run>` 6 hex digits of a hash of the workflow run id: the same for every retry
 * of one attempt, so a retried activity finds its pod, and new for each run (every BatchJob run and every deploy
 * starts at attempt 1), so a pod kept from an earlier run is never in the way. Longer than 63 characters, it is
 * cut and ends in a hash of the full name so different steps stay different.
 */
export function podName(app: string, step: string, attempt: number, runId: string): string {
  const run = createHash('sha256').update(runId).digest('hex').slice(0, 6);
  const full = `${app}-${step}-${attempt}-${run}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const suffix = `-${attempt}-${hash}`;
  return `${full.slice(0, 63 - suffix.length).replace(/-+$/, '')}${suffix}`;
}

/** A container's `env`: values, then `secretEnv` as `secretKeyRef`s (shared with service-manifest.ts). */
export function containerEnv(container: Pick<Container, 'env' | 'secretEnv'>): V1EnvVar[] | undefined {
  const vars: V1EnvVar[] = [
    ...Object.entries(container.env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.entries(container.secretEnv ?? {}).map(([name, ref]) => ({
      name,
      valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key } },
    })),
  ];
  return vars.length > 0 ? vars : undefined;
}

/** Requests as given; the memory request is also the limit (shared with service-manifest.ts). */
export function containerResources(r: Container['resources']): V1ResourceRequirements | undefined {
  if (!r || (r.cpu === undefined && r.memory === undefined)) return undefined;
  const amounts: Record<string, string> = {};
  if (r.cpu !== undefined) amounts.cpu = String(r.cpu);
  if (r.memory !== undefined) amounts.memory = String(r.memory);
  // Requests = limits for memory-bound JVM builds; cpu is not limited (throttling a build only slows it).
  const limits = amounts.memory ? { memory: amounts.memory } : undefined;
  return { requests: amounts, ...(limits ? { limits } : {}) };
}

/**
 * What `securityProfile: restricted` fills in where the config leaves it out, so every container passes the
 * restricted Pod Security Standard: the pod runs as non-root with the runtime's seccomp profile, and each container
 * drops every capability and cannot gain privileges. Settings that break the standard are refused by the config
 * rules (validate-app.ts), so what is set is kept.
 */
export const RESTRICTED_POD = { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } as const;
export const RESTRICTED_CONTAINER = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
} as const;

/** A seccomp profile as Kubernetes has it: `localhostProfile` only when given. */
function seccomp(p: NonNullable<SecurityContext['seccompProfile']>): {
  type: string;
  localhostProfile?: string;
} {
  return p.localhostProfile === undefined
    ? { type: p.type }
    : { type: p.type, localhostProfile: p.localhostProfile };
}

/** The pod's securityContext as configured, `restricted` filled in (shared with service-manifest.ts). */
export function podSecurityContext(
  step: Pick<PodStep, 'podSecurityContext' | 'securityProfile'>,
): V1PodSecurityContext | undefined {
  const given: PodSecurityContext = step.podSecurityContext ?? {};
  const out: V1PodSecurityContext = {};
  if (given.runAsUser !== undefined) out.runAsUser = given.runAsUser;
  if (given.runAsGroup !== undefined) out.runAsGroup = given.runAsGroup;
  if (given.runAsNonRoot !== undefined) out.runAsNonRoot = given.runAsNonRoot;
  if (given.fsGroup !== undefined) out.fsGroup = given.fsGroup;
  if (given.seccompProfile !== undefined) out.seccompProfile = seccomp(given.seccompProfile);
  if (step.securityProfile === SecurityProfile.restricted) {
    out.runAsNonRoot ??= RESTRICTED_POD.runAsNonRoot;
    out.seccompProfile ??= { ...RESTRICTED_POD.seccompProfile };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A container's securityContext as configured, `restricted` filled in (shared with service-manifest.ts). */
export function containerSecurityContext(
  given: SecurityContext = {},
  profile: PodStep['securityProfile'],
): V1SecurityContext | undefined {
  const out: V1SecurityContext = {};
  if (given.allowPrivilegeEscalation !== undefined)
    out.allowPrivilegeEscalation = given.allowPrivilegeEscalation;
  if (given.capabilities !== undefined) {
    const { add, drop } = given.capabilities;
    out.capabilities = { ...(add ? { add: [...add] } : {}), ...(drop ? { drop: [...drop] } : {}) };
  }
  if (given.privileged !== undefined) out.privileged = given.privileged;
  if (given.readOnlyRootFilesystem !== undefined) out.readOnlyRootFilesystem = given.readOnlyRootFilesystem;
  if (given.runAsUser !== undefined) out.runAsUser = given.runAsUser;
  if (given.runAsGroup !== undefined) out.runAsGroup = given.runAsGroup;
  if (given.runAsNonRoot !== undefined) out.runAsNonRoot = given.runAsNonRoot;
  if (given.seccompProfile !== undefined) out.seccompProfile = seccomp(given.seccompProfile);
  if (profile === SecurityProfile.restricted) {
    out.allowPrivilegeEscalation ??= RESTRICTED_CONTAINER.allowPrivilegeEscalation;
    out.capabilities = {
      ...out.capabilities,
      drop: out.capabilities?.drop ?? [...RESTRICTED_CONTAINER.capabilities.drop],
    };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function container(
  c: Omit<Container, 'name'>,
  name: string,
  mountPath: string,
  profile: PodStep['securityProfile'],
): V1Container {
  const out: V1Container = { name, image: c.image };
  if (c.command) out.command = c.command;
  if (c.args) out.args = c.args;
  const vars = containerEnv(c);
  if (vars) out.env = vars;
  const res = containerResources(c.resources);
  if (res) out.resources = res;
  const security = containerSecurityContext(c.securityContext, profile);
  if (security) out.securityContext = security;
  out.volumeMounts = [{ name: SHARED_VOLUME, mountPath }];
  return out;
}

export function buildPodManifest(step: PodStep, id: PodIdentity, defaults: PodDefaults): V1Pod {
  const mount = step.sharedVolume;
  const profile = step.securityProfile;
  const sidecars = step.sidecars.map((c) => ({
    ...container(c, c.name, mount, profile),
    restartPolicy: 'Always',
  }));
  const builds = step.initContainers.map((c) => container(c, c.name, mount, profile));
  const serviceAccount = step.serviceAccount ?? defaults.serviceAccount;
  const security = podSecurityContext(step);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(id.app, id.step, id.attempt, id.runId),
      namespace: step.namespace ?? defaults.namespace,
      labels: { [PodLabel.app]: id.app, [PodLabel.step]: id.step, [PodLabel.attempt]: String(id.attempt) },
      annotations: {
        [PodAnnotation.workflowId]: id.workflowId,
        [PodAnnotation.runId]: id.runId,
        [PodAnnotation.revision]: String(id.revision),
      },
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.max(1, Math.ceil(durationMs(step.timeout) / 1000)),
      ...(serviceAccount ? { serviceAccountName: serviceAccount } : {}),
      ...(security ? { securityContext: security } : {}),
      // Native sidecars first: they start before the build, run beside it and the main container, and are
      // stopped by the kubelet once the main container has exited.
      ...(sidecars.length + builds.length > 0 ? { initContainers: [...sidecars, ...builds] } : {}),
      containers: [container(step, MAIN_CONTAINER, mount, profile)],
      volumes: [{ name: SHARED_VOLUME, emptyDir: {} }],
    },
  };
}
