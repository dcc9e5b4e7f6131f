// Fields shared by the step kinds that run containers (pod and service steps), and the duration helpers of the
// app config. Apart from app-config.ts so service-step.ts can use them without an import cycle.
import { z } from 'zod';
import {
  boundedDuration,
  dns1123Subdomain,
  envVarName,
  imageReference,
  limitsText,
  linuxCapability,
  nonEmptyString,
  resourceQuantity,
  type DurationLimits,
} from './fields.js';

/**
 * A duration of an app config: 0 and values above the maximum are refused here, everywhere; values below the
 * minimum by the rules stage when RuleContext.minimums is set (`kappa validate`, `kappa deploy`).
 */
export const appDuration = (limits: DurationLimits) => boundedDuration(limits, { enforceMin: false });

/** A field's meaning followed by its limits, for the JSON Schema and docs/configuration.md. */
export const withLimits = (meaning: string, limits: DurationLimits) => `${meaning} ${limitsText(limits)}`;

export const env = z.record(envVarName, z.string()).describe('Environment variables (values are strings)');

export const secretKeyRef = z.strictObject({
  secret: dns1123Subdomain.describe('Name of a Kubernetes Secret'),
  key: z
    .string()
    .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key (letters, digits, "-", "_", ".")')
    .describe('The key in that Secret'),
});

/** A Linux user or group id as the API server takes it (IsValidUserID, IsValidGroupID). */
const MAX_ID = 2 ** 31 - 1;
const linuxId = (what: string) =>
  z.int().min(0).max(MAX_ID, `expected number <= ${MAX_ID}`).optional().describe(what);

export const SeccompProfileType = {
  RuntimeDefault: 'RuntimeDefault',
  Localhost: 'Localhost',
  Unconfined: 'Unconfined',
} as const;

const seccompProfile = z
  .strictObject({
    type: z
      .enum(SeccompProfileType)
      .describe(
        "`RuntimeDefault`: the container runtime's profile. `Localhost`: a profile file on the node (`localhostProfile`). `Unconfined`: none.",
      ),
    localhostProfile: nonEmptyString
      .optional()
      .describe(
        "With `type: Localhost`, and only then: the profile's path, relative to the kubelet's seccomp directory (no `..`).",
      ),
  })
  .superRefine((profile, ctx) => {
    const local = profile.localhostProfile;
    if (profile.type === SeccompProfileType.Localhost && local === undefined) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'Localhost needs localhostProfile' });
    }
    if (profile.type !== SeccompProfileType.Localhost && local !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['localhostProfile'], message: 'only with type: Localhost' });
    }
    if (local !== undefined && local.startsWith('/')) {
      ctx.addIssue({ code: 'custom', path: ['localhostProfile'], message: 'must be a relative path' });
    }
    if (local !== undefined && local.split('/').includes('..')) {
      ctx.addIssue({ code: 'custom', path: ['localhostProfile'], message: "must not contain '..'" });
    }
  })
  .optional()
  .describe('The seccomp profile (system calls the processes may make).');

/** Pod-level settings (a subset of Kubernetes' PodSecurityContext, same names and meanings). */
export const podSecurityContextSchema = z
  .strictObject({
    runAsUser: linuxId("The user id every container's processes run as; default: the image's `USER`."),
    runAsGroup: linuxId("The group id of every container's processes; default: the image's."),
    runAsNonRoot: z
      .boolean()
      .optional()
      .describe(
        "`true`: the kubelet refuses to start a container that would run as root (user id 0), or whose image's `USER` is a name rather than a number and `runAsUser` is not set.",
      ),
    fsGroup: linuxId(
      "A group added to every container's processes; volumes that support it, such as `sharedVolume`, are owned by it.",
    ),
    seccompProfile,
  })
  .optional()
  .describe(
    "The pod's `securityContext`: defaults for every container, which a container's own `securityContext` overrides.",
  );

/** Container-level settings (a subset of Kubernetes' SecurityContext, same names and meanings). */
export const securityContextSchema = z
  .strictObject({
    allowPrivilegeEscalation: z
      .boolean()
      .optional()
      .describe(
        "Whether a process may gain more privileges than its parent (set-user-id programs); Kubernetes's default is `true`.",
      ),
    capabilities: z
      .strictObject({
        add: z
          .array(linuxCapability)
          .optional()
          .describe('Linux capabilities to add, such as `NET_BIND_SERVICE`.'),
        drop: z
          .array(linuxCapability)
          .optional()
          .describe('Linux capabilities to drop; `ALL` drops every one.'),
      })
      .optional()
      .describe("Changes to the container runtime's default Linux capabilities."),
    privileged: z
      .boolean()
      .optional()
      .describe(
        "`true`: the container gets every capability and the host's devices; as good as root on the node.",
      ),
    readOnlyRootFilesystem: z
      .boolean()
      .optional()
      .describe("`true`: the image's filesystem is read-only; `sharedVolume` stays writable."),
    runAsUser: linuxId("The user id the container's processes run as; overrides `podSecurityContext`."),
    runAsGroup: linuxId("The group id of the container's processes; overrides `podSecurityContext`."),
    runAsNonRoot: z
      .boolean()
      .optional()
      .describe('As in `podSecurityContext`, for this container; overrides it.'),
    seccompProfile,
  })
  .optional()
  .describe(
    "The container's `securityContext` (Kubernetes' fields of that name); it overrides the pod step's `podSecurityContext`.",
  );

/** The Pod Security Standards a pod step can be held to (`securityProfile`). */
export const SecurityProfile = { baseline: 'baseline', restricted: 'restricted' } as const;
export type SecurityProfile = (typeof SecurityProfile)[keyof typeof SecurityProfile];

/** The Pod Security Standard a pod step or a service step's pods must meet; its description is the pod step's. */
export const securityProfileSchema = z
  .enum(SecurityProfile)
  .optional()
  .describe(
    "The Pod Security Standard the pod must meet, as the namespace's `pod-security.kubernetes.io/enforce` label names it. `restricted`: Kappa fills in what it requires where not set (`podSecurityContext`: `runAsNonRoot: true`, `seccompProfile: {type: RuntimeDefault}`; every container: `allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`) and refuses settings that break it. `baseline`: only refuses settings that break that standard. Default: neither.",
  );

/** A container's fields, shared by pod steps (main, init containers, sidecars) and service steps. */
export const containerFields = {
  image: imageReference,
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: env.optional(),
  secretEnv: z
    .record(envVarName, secretKeyRef)
    .optional()
    .describe('Environment variables read from Kubernetes Secrets; secrets are never inlined'),
  resources: z
    .strictObject({
      cpu: resourceQuantity.optional().describe('A Kubernetes quantity, not negative: `500m`, `2`, `0.5`.'),
      memory: resourceQuantity
        .optional()
        .describe('A Kubernetes quantity, not negative: `512Mi`, `1Gi`, `1e9`.'),
    })
    .optional()
    .describe('Resource requests; the memory request is also the limit, CPU is not limited.'),
  securityContext: securityContextSchema,
};
