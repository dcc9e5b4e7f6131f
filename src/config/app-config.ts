// The app config (docs/configuration.md): one schema for loading, the `deploy` update and the JSON Schema.
import { z } from 'zod';
import { dns1123Label, dns1123Subdomain, duration, envVarName, hostName, nonEmptyString } from './fields.js';

export const API_VERSION = 'kappa/v1';

/** A host from the worker config, or `local` for the worker's own host. */
export const hostRef = hostName('must be a host name from the worker config, or "local"');

const env = z.record(envVarName, z.string()).describe('Environment variables (values are strings)');

const secretKeyRef = z.strictObject({
  secret: dns1123Subdomain.describe('Name of a Kubernetes Secret'),
  key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret key (letters, digits, "-", "_", ".")'),
});

const quantity = z
  .union([z.string(), z.number()])
  .refine(
    (q) => /^([+-]?[0-9.]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$/.test(String(q)),
    'expected a Kubernetes quantity such as 500m, 2, 1Gi',
  );

const containerFields = {
  image: nonEmptyString,
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: env.optional(),
  secretEnv: z
    .record(envVarName, secretKeyRef)
    .optional()
    .describe('Environment variables read from Kubernetes Secrets; secrets are never inlined'),
  resources: z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() }).optional(),
};

export const containerSchema = z.strictObject({ name: dns1123Label, ...containerFields });

export const KeepPod = { never: 'never', onFailure: 'onFailure', always: 'always' } as const;

export const podStepSchema = z.strictObject({
  namespace: dns1123Label.optional().describe('Default: the worker config'),
  serviceAccount: dns1123Subdomain.optional().describe('Default: the worker config'),
  ...containerFields,
  initContainers: z.array(containerSchema).default([]),
  sidecars: z.array(containerSchema).default([]),
  sharedVolume: z
    .string()
    .regex(/^\/[^\s]*$/, 'must be an absolute path')
    .default('/artifacts'),
  timeout: duration.default('30m'),
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
    timeout: duration.default('10m'),
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
  pollInterval: duration.default('10s'),
  unreachableTimeout: duration.default('15m'),
  onExisting: z.enum(OnExisting).default('adopt'),
  appearTimeout: duration
    .default('5m')
    .describe('How long to wait for the app to show up in YARN after the steps'),
});

export const restartPolicySchema = z.strictObject({
  maxRestarts: z.int().min(0).default(5),
  backoff: z
    .strictObject({
      initial: duration.default('30s'),
      factor: z.number().min(1).default(2),
      max: duration.default('10m'),
    })
    .prefault({}),
  resetAfter: duration.default('1h'),
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
export type YarnSpec = z.output<typeof yarnSchema>;
export type RestartPolicy = z.output<typeof restartPolicySchema>;
