// The app config (docs/configuration.md): one schema for loading, the `deploy` update and the JSON Schema.
import { z } from 'zod';
import {
  boundedDuration,
  dns1123Label,
  dns1123Subdomain,
  envVarName,
  hostName,
  imageReference,
  limitsText,
  linuxCapability,
  nonEmptyString,
  resourceQuantity,
  type DurationLimits,
} from './fields.js';
import { APP_DURATION_LIMITS as LIMITS, BACKOFF_FACTOR, MAX_RESTARTS } from './limits.js';

export const API_VERSION = 'kappa/v1';

/** A host from the worker config, or `local` for the worker's own host. */
export const hostRef = hostName('must be a host name from the worker config, or "local"');

/**
 * A duration of an app config: 0 and values above the maximum are refused here, everywhere; values below the
 * minimum by the rules stage when RuleContext.minimums is set (`kappa validate`, `kappa deploy`).
 */
const appDuration = (limits: DurationLimits) => boundedDuration(limits, { enforceMin: false });

/** A field's meaning followed by its limits, for the JSON Schema and docs/configuration.md. */
const withLimits = (meaning: string, limits: DurationLimits) => `${meaning} ${limitsText(limits)}`;

const env = z.record(envVarName, z.string()).describe('Environment variables (values are strings)');

const secretKeyRef = z.strictObject({
  secret: dns1123Subdomain.describe('Name of a Kubernetes Secret'),
  key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key (letters, digits, "-", "_", ".")'),
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

const containerFields = {
  image: imageReference,
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: env.optional(),
  secretEnv: z
    .record(envVarName, secretKeyRef)
    .optional()
    .describe('Environment variables read from Kubernetes Secrets; secrets are never inlined'),
  resources: z
    .strictObject({ cpu: resourceQuantity.optional(), memory: resourceQuantity.optional() })
    .optional(),
  securityContext: securityContextSchema,
};

export const containerSchema = z.strictObject({ name: dns1123Label, ...containerFields });

export const KeepPod = { never: 'never', onFailure: 'onFailure', always: 'always' } as const;

export const podStepSchema = z.strictObject({
  namespace: dns1123Label.optional().describe('Default: the worker config'),
  serviceAccount: dns1123Subdomain.optional().describe('Default: the worker config'),
  ...containerFields,
  podSecurityContext: podSecurityContextSchema,
  securityProfile: z
    .enum(SecurityProfile)
    .optional()
    .describe(
      "The Pod Security Standard the pod must meet, as the namespace's `pod-security.kubernetes.io/enforce` label names it. `restricted`: Kappa fills in what it requires where not set (`podSecurityContext`: `runAsNonRoot: true`, `seccompProfile: {type: RuntimeDefault}`; every container: `allowPrivilegeEscalation: false`, `capabilities.drop: [ALL]`) and refuses settings that break it. `baseline`: only refuses settings that break that standard. Default: neither.",
    ),
  initContainers: z.array(containerSchema).default([]),
  sidecars: z.array(containerSchema).default([]),
  sharedVolume: z
    .string()
    .regex(/^\/[^\s]*$/, 'must be an absolute path')
    .default('/artifacts'),
  timeout: appDuration(LIMITS.podStepTimeout)
    .default('30m')
    .describe(
      withLimits("The step's limit (also the pod's `activeDeadlineSeconds`).", LIMITS.podStepTimeout),
    ),
  keepPod: z.enum(KeepPod).default('onFailure'),
});

export const sshStepSchema = z
  .strictObject({
    host: hostRef,
    command: z
      .array(z.string())
      .min(1, 'must not be empty')
      .optional()
      .describe('argv: each element is shell-quoted'),
    script: nonEmptyString.optional().describe('A shell script, run with `sh -e` on the host'),
    env: env.optional(),
    timeout: appDuration(LIMITS.sshStepTimeout)
      .default('10m')
      .describe(
        withLimits(
          "The step's limit; a cancelled or timed-out command's process group gets SIGTERM, then SIGKILL after 5s.",
          LIMITS.sshStepTimeout,
        ),
      ),
  })
  .superRefine((ssh, ctx) => {
    if ((ssh.command === undefined) === (ssh.script === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'needs exactly one of: command, script' });
    }
  });

export const stepSchema = z
  .strictObject({
    name: dns1123Label,
    pod: podStepSchema.optional(),
    ssh: sshStepSchema.optional(),
  })
  .superRefine((step, ctx) => {
    if ((step.pod === undefined) === (step.ssh === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a step needs exactly one of: pod, ssh' });
    }
  });

export const OnExisting = { adopt: 'adopt', kill: 'kill', fail: 'fail' } as const;

export const yarnSchema = z.strictObject({
  host: hostRef,
  appName: nonEmptyString.describe('The YARN application name (spark-submit --name)'),
  pollInterval: appDuration(LIMITS.pollInterval)
    .default('10s')
    .describe(
      withLimits(
        'How often YARN is polled while supervising. One `yarn application -list` per host and interval serves every app there.',
        LIMITS.pollInterval,
      ),
    ),
  unreachableTimeout: appDuration(LIMITS.unreachableTimeout)
    .default('15m')
    .describe(
      withLimits(
        'How long the edge node or its `yarn` CLI may fail before supervision fails and the restart policy decides (meanwhile the app is `Degraded`, not restarted). Also at least twice `pollInterval`.',
        LIMITS.unreachableTimeout,
      ),
    ),
  onExisting: z.enum(OnExisting).default('adopt'),
  appearTimeout: appDuration(LIMITS.appearTimeout)
    .default('5m')
    .describe(
      withLimits(
        'How long the app may take to show up in YARN after the steps (by the id `spark-submit` printed, else by name).',
        LIMITS.appearTimeout,
      ),
    ),
  acceptedTimeout: appDuration(LIMITS.acceptedTimeout)
    .default('10m')
    .describe(
      withLimits(
        'How long the app may stay SUBMITTED or ACCEPTED in YARN (phase `Starting`: a full queue, an ApplicationMaster that cannot start) before Kappa kills it and the restart policy decides. `Running` means YARN says RUNNING.',
        LIMITS.acceptedTimeout,
      ),
    ),
});

export const restartPolicySchema = z.strictObject({
  maxRestarts: z
    .int()
    .min(0)
    .max(MAX_RESTARTS.max, `expected number <= ${MAX_RESTARTS.max}: ${MAX_RESTARTS.why}`)
    .default(5)
    .describe(
      `Automatic restarts before giving up (phase \`Failed\`, failure \`RestartBudgetExhausted\`); 0: never restart. At most ${MAX_RESTARTS.max}: ${MAX_RESTARTS.why}.`,
    ),
  backoff: z
    .strictObject({
      initial: appDuration(LIMITS.backoffInitial)
        .default('30s')
        .describe(withLimits('The wait before the first restart.', LIMITS.backoffInitial)),
      factor: z
        .number()
        .min(1)
        // Refined rather than .max(), so the generated type stays `number ≥ 1`; the limit is in the description.
        .refine(
          (f) => f <= BACKOFF_FACTOR.max,
          `expected number <= ${BACKOFF_FACTOR.max}: ${BACKOFF_FACTOR.why}`,
        )
        .default(2)
        .describe(
          `Multiplies the wait for each further restart. At most ${BACKOFF_FACTOR.max}: ${BACKOFF_FACTOR.why}.`,
        ),
      max: appDuration(LIMITS.backoffMax)
        .default('10m')
        .describe(withLimits('The longest wait; at least `initial`.', LIMITS.backoffMax)),
    })
    .prefault({}),
  resetAfter: appDuration(LIMITS.resetAfter)
    .default('1h')
    .describe(
      withLimits('Running this long resets the restart count, and so the backoff.', LIMITS.resetAfter),
    ),
  from: dns1123Label.optional().describe('Step to re-run from; default: the first step'),
});

export const Overlap = {
  skip: 'skip',
  bufferOne: 'bufferOne',
  cancelOther: 'cancelOther',
  allowAll: 'allowAll',
} as const;

export const scheduleSchema = z.strictObject({
  cron: nonEmptyString,
  timezone: nonEmptyString.default('UTC'),
  overlap: z.enum(Overlap).default('skip'),
});

const specFields = {
  yarn: yarnSchema,
  restartPolicy: restartPolicySchema.prefault({}),
  steps: z.array(stepSchema).min(1, 'needs at least one step'),
};

const metadataSchema = z.strictObject({
  name: dns1123Label,
  labels: z.record(z.string(), z.string()).optional(),
});

export const AppKind = { StreamingApp: 'StreamingApp', BatchJob: 'BatchJob' } as const;
export type AppKind = (typeof AppKind)[keyof typeof AppKind];

export const streamingAppSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(AppKind.StreamingApp),
  metadata: metadataSchema,
  spec: z.strictObject(specFields),
});

export const batchJobSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(AppKind.BatchJob),
  metadata: metadataSchema,
  spec: z.strictObject({ ...specFields, schedule: scheduleSchema.optional() }),
});

export const appConfigSchema = z.discriminatedUnion('kind', [streamingAppSchema, batchJobSchema]);

/** An app config with its defaults filled in. */
export type AppConfig = z.output<typeof appConfigSchema>;
/** An app config as written in YAML. */
export type AppConfigInput = z.input<typeof appConfigSchema>;
export type Step = z.output<typeof stepSchema>;
export type PodStep = z.output<typeof podStepSchema>;
export type SshStep = z.output<typeof sshStepSchema>;
export type Container = z.output<typeof containerSchema>;
export type SecurityContext = NonNullable<Container['securityContext']>;
export type PodSecurityContext = NonNullable<PodStep['podSecurityContext']>;
export type YarnSpec = z.output<typeof yarnSchema>;
export type RestartPolicy = z.output<typeof restartPolicySchema>;
