// The worker config (`config/worker.yaml`); environment variables override the file.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { z } from 'zod';
import { TASK_QUEUE } from '../common/temporal-names.js';
import { dns1123Label, dns1123Subdomain, duration, nonEmptyString } from './fields.js';
import { fromZodIssues } from './issues.js';
import { ConfigError, readYamlFile } from './yaml-source.js';

const hostSchema = z.strictObject({
  host: nonEmptyString,
  port: z.int().min(1).max(65535).default(22),
  username: nonEmptyString,
  privateKeyPath: nonEmptyString.default('~/.ssh/id_ed25519'),
  knownHostsPath: nonEmptyString.default('~/.ssh/known_hosts'),
  yarnCommand: nonEmptyString.default('yarn'),
});

export const workerConfigSchema = z.strictObject({
  temporal: z
    .strictObject({
      address: nonEmptyString.default('localhost:7233'),
      namespace: nonEmptyString.default('default'),
      taskQueue: nonEmptyString.default(TASK_QUEUE),
      tls: z
        .strictObject({
          serverName: nonEmptyString.optional(),
          serverRootCACertPath: nonEmptyString.optional(),
          clientCertPath: nonEmptyString.optional(),
          clientKeyPath: nonEmptyString.optional(),
        })
        .optional(),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      namespace: dns1123Label.default('default'),
      serviceAccount: dns1123Subdomain.optional(),
    })
    .prefault({}),
  hosts: z
    .record(
      z.string().regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, 'must be a host name such as edge-1'),
      hostSchema,
    )
    .refine((hosts) => !('local' in hosts), '"local" is reserved for the worker\'s own host')
    .default({}),
  /** Apps and steps with `host: local` run on the worker's own host. */
  local: z.strictObject({ yarnCommand: nonEmptyString.default('yarn') }).prefault({}),
  metrics: z.strictObject({ port: z.int().min(0).max(65535).default(9464) }).prefault({}),
  /** Activity slots: every supervised app holds one for as long as it runs, so this caps the apps per worker. */
  maxConcurrentActivities: z.int().min(10).default(5000),
  /**
   * Workflows kept in memory between events (the SDK sizes it from the heap when unset). Each cached app costs
   * about 2 MB; an evicted one is replayed from its short history when its next event comes.
   */
  maxCachedWorkflows: z.int().min(0).optional(),
  /** How long a stopping worker lets running activities finish or clean up. */
  shutdownGraceTime: duration.default('30s'),
});

export type WorkerConfig = z.output<typeof workerConfigSchema>;
export type HostConfig = z.output<typeof hostSchema>;

export const DEFAULT_WORKER_CONFIG_PATH = 'config/worker.yaml';

export interface TemporalConnectionSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  apiKey?: string;
  tls?: NonNullable<WorkerConfig['temporal']['tls']> | true;
}

/**
 * Loads the worker config. Without an explicit path, a missing `config/worker.yaml` means defaults, so
 * `kappa dev` works from any directory; an explicit path that is missing is an error.
 */
export function loadWorkerConfig(path?: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const file = path ?? env.KAPPA_WORKER_CONFIG ?? DEFAULT_WORKER_CONFIG_PATH;
  let raw: unknown = {};
  let locate = (issue: { path: readonly (string | number)[]; message: string }) => ({
    file,
    line: 1,
    col: 1,
    ...issue,
  });
  if (path !== undefined || env.KAPPA_WORKER_CONFIG !== undefined || existsSync(file)) {
    const source = readYamlFile(file);
    raw = source.value;
    locate = source.locate;
  }
  const parsed = workerConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(fromZodIssues(parsed.error.issues).map(locate));
  return parsed.data;
}

/** Temporal connection settings: the worker config, overridden by TEMPORAL_* variables and CLI flags. */
export function temporalSettings(
  config: WorkerConfig,
  overrides: { address?: string; namespace?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionSettings {
  const settings: TemporalConnectionSettings = {
    address: overrides.address ?? env.TEMPORAL_ADDRESS ?? config.temporal.address,
    namespace: overrides.namespace ?? env.TEMPORAL_NAMESPACE ?? config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
  };
  if (env.TEMPORAL_API_KEY) settings.apiKey = env.TEMPORAL_API_KEY;
  const tlsFromEnv = {
    serverName: env.TEMPORAL_TLS_SERVER_NAME,
    serverRootCACertPath: env.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
    clientCertPath: env.TEMPORAL_TLS_CLIENT_CERT_PATH,
    clientKeyPath: env.TEMPORAL_TLS_CLIENT_KEY_PATH,
  };
  const anyTlsEnv = Object.values(tlsFromEnv).some((v) => v !== undefined);
  if (config.temporal.tls || anyTlsEnv) {
    settings.tls = {
      ...config.temporal.tls,
      ...Object.fromEntries(Object.entries(tlsFromEnv).filter(([, v]) => v)),
    };
  } else if (env.TEMPORAL_TLS === 'true' || settings.apiKey) {
    settings.tls = true;
  }
  return settings;
}

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}
