// The app config (docs/configuration.md): one schema for loading, the `deploy` update and the JSON Schema.
import { z } from 'zod';
import {
  appDuration,
  containerFields,
  env,
  podSecurityContextSchema,
  securityProfileSchema,
  withLimits,
} from './container-fields.js';
import { dns1123Label, dns1123Subdomain, hostName, nonEmptyString } from './fields.js';
import { APP_DURATION_LIMITS as LIMITS, BACKOFF_FACTOR, MAX_RESTARTS } from './limits.js';
import { serviceStepSchema } from './service-step.js';

// Re-exported: the container fields used to live here, and modules import them from here.
export {
  podSecurityContextSchema,
  SeccompProfileType,
  securityContextSchema,
  SecurityProfile,
} from './container-fields.js';
export { serviceStepSchema, type ServiceStep, type ReadinessProbe } from './service-step.js';

export const API_VERSION = 'kappa/v1';

/** A host from the worker config, or `local` for the worker's own host. */
export const hostRef = hostName('must be a host name from the worker config, or "local"');

export const containerSchema = z.strictObject({ name: dns1123Label, ...containerFields });

export const KeepPod = { never: 'never', onFailure: 'onFailure', always: 'always' } as const;

export const podStepSchema = z.strictObject({
  namespace: dns1123Label.optional().describe('Default: the worker config'),
  serviceAccount: dns1123Subdomain.optional().describe('Default: the worker config'),
  ...containerFields,
  podSecurityContext: podSecurityContextSchema,
  securityProfile: securityProfileSchema,
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
    service: serviceStepSchema
      .optional()
      .describe(
        'A long-running server, such as a model server: a Kubernetes Deployment with a ClusterIP Service in front, created or updated by server-side apply, and waited for until Available. Later steps use its address as `${steps.<name>.url}`, `.host` or `.port` in args, command and env values.',
      ),
  })
  .superRefine((step, ctx) => {
    const kinds = [step.pod, step.ssh, step.service].filter((kind) => kind !== undefined).length;
    if (kinds !== 1) {
      ctx.addIssue({ code: 'custom', path: [], message: 'a step needs exactly one of: pod, ssh, service' });
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
