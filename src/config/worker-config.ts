// The worker config (`config/worker.yaml`). Temporal connection settings come first from CLI flags, then from
// the environment and `temporal.toml` profiles the `temporal` CLI reads too, then from this file (see
// temporalSettings).
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import {
  loadClientConfigProfile,
  type ClientConfigProfile,
  type ClientConfigTLS,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import { z } from 'zod';
import { TASK_QUEUE } from '../common/temporal-names.js';
import {
  boundedDuration,
  dns1123Label,
  dns1123Subdomain,
  hostName,
  limitsText,
  nonEmptyString,
} from './fields.js';
import { fromZodIssues, type ConfigIssue } from './issues.js';
import { WORKER_LIMITS } from './limits.js';
import { yarnRestSchema } from './yarn-rest-config.js';
import { ConfigError, readYamlFile, type LocatedIssue } from './yaml-source.js';

const hostSchema = z
  .strictObject({
    host: nonEmptyString,
    port: z.int().min(1).max(65535).default(22),
    username: nonEmptyString,
    privateKeyPath: nonEmptyString.default('~/.ssh/id_ed25519'),
    knownHostsPath: nonEmptyString.default('~/.ssh/known_hosts'),
    yarnCommand: nonEmptyString.default('yarn'),
    yarnTimeout: boundedDuration(WORKER_LIMITS.yarnTimeout, { enforceMin: true })
      .default('60s')
      .describe(
        `How long one \`yarn application\` call (with \`yarnApi: rest\`, one request to one ResourceManager) may take before Kappa cuts it off and counts the poll as failed. With the ResourceManager down the yarn client retries for 15 minutes by default; a client conf that fails fast, or a shorter cut-off, makes \`Degraded\` come sooner. ${limitsText(WORKER_LIMITS.yarnTimeout)}`,
      ),
    yarnWebUrl: z
      .url({ protocol: /^https?$/ })
      .optional()
      .describe(
        "The ResourceManager's web UI (e.g. `http://rm-host:8088`): the Temporal UI links an app there when YARN gives no tracking URL (`N/A`).",
      ),
    yarnApi: z
      .enum(['cli', 'rest'])
      .default('cli')
      .describe(
        "How Kappa reads application states: `cli`, `yarn application` on the edge node (a JVM per poll, about a CPU-second); `rest`, the ResourceManager's REST API through the edge node (see `yarnRest`). Kills always use the yarn CLI, as the app's owner.",
      ),
    yarnRest: yarnRestSchema
      .optional()
      .describe('How to reach the ResourceManager REST API; required with `yarnApi: rest`, and only then.'),
  })
  .superRefine((host, ctx) => {
    if (host.yarnApi === 'rest' && !host.yarnRest) {
      ctx.addIssue({
        code: 'custom',
        path: ['yarnApi'],
        message: "rest needs yarnRest.resourceManagers: the ResourceManagers' web addresses",
        input: host.yarnApi,
      });
    }
    if (host.yarnRest && host.yarnApi !== 'rest') {
      ctx.addIssue({
        code: 'custom',
        path: ['yarnRest'],
        message: `is used only with yarnApi: rest, and yarnApi is ${host.yarnApi} (the default); add yarnApi: rest or remove yarnRest`,
        input: host.yarnRest,
      });
    }
  });

export const workerConfigSchema = z.strictObject({
  temporal: z
    .strictObject({
      // Below CLI flags, TEMPORAL_* variables and a temporal.toml profile (temporalSettings).
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
    .record(hostName(), hostSchema)
    .refine((hosts) => !('local' in hosts), '"local" is reserved for the worker\'s own host')
    .default({}),
  /** Apps and steps with `host: local` run on the worker's own host. */
  local: z.strictObject({ yarnCommand: nonEmptyString.default('yarn') }).prefault({}),
  metrics: z
    .strictObject({
      port: z
        .int()
        .min(0)
        .max(65535)
        .default(9464)
        .describe(
          'Serves `/metrics` on this port; 0 turns it off. Each worker on a host needs its own port: a port in use stops the worker at start.',
        ),
      bindAddress: z
        .string()
        .refine((address) => isIP(address) !== 0, 'must be an IP address such as 0.0.0.0, 127.0.0.1 or ::')
        .default('0.0.0.0')
        .describe(
          'The address `/metrics` listens on: `0.0.0.0` (every IPv4 interface), `::` (every interface), `127.0.0.1` (this host only), or one interface.',
        ),
    })
    .prefault({}),
  maxConcurrentActivities: z
    .int()
    .min(WORKER_LIMITS.maxConcurrentActivities.min)
    .max(
      WORKER_LIMITS.maxConcurrentActivities.max,
      `expected number <= ${WORKER_LIMITS.maxConcurrentActivities.max}: ${WORKER_LIMITS.maxConcurrentActivities.why}`,
    )
    .default(5000)
    .describe(
      `Activity slots. Every supervised app holds one for as long as it runs, so this caps the apps per worker. At most ${WORKER_LIMITS.maxConcurrentActivities.max}: ${WORKER_LIMITS.maxConcurrentActivities.why}.`,
    ),
  maxCachedWorkflows: z
    .int()
    .min(0)
    .max(
      WORKER_LIMITS.maxCachedWorkflows.max,
      `expected number <= ${WORKER_LIMITS.maxCachedWorkflows.max}: ${WORKER_LIMITS.maxCachedWorkflows.why}`,
    )
    .refine((n) => n !== 1, 'must be 0 (no cache) or at least 2: the SDK needs room for two')
    .optional()
    .describe(
      `Workflows kept in memory between events; default 250. An evicted app is replayed from its history (since its last continue-as-new) on its next event, which for a supervised app is rare. 0 or 2–${WORKER_LIMITS.maxCachedWorkflows.max}: ${WORKER_LIMITS.maxCachedWorkflows.why}.`,
    ),
  shutdownGraceTime: boundedDuration(WORKER_LIMITS.shutdownGraceTime, { enforceMin: true })
    .default('30s')
    .describe(
      `How long a stopping worker lets running activities finish; a pod step still running then is left to the next worker, which reattaches to its pod. ${limitsText(WORKER_LIMITS.shutdownGraceTime)}`,
    ),
});

export type WorkerConfig = z.output<typeof workerConfigSchema>;
export type HostConfig = z.output<typeof hostSchema>;

export const DEFAULT_WORKER_CONFIG_PATH = 'config/worker.yaml';

/**
 * Where and how to reach Temporal: a `temporal.toml` profile (what `@temporalio/envconfig` reads) with the
 * address and namespace always set, plus the task queue. `connectionOptions` (src/temporal/connection.ts)
 * turns it into the SDK's connection options.
 */
export interface TemporalConnectionSettings extends ClientConfigProfile {
  address: string;
  namespace: string;
  taskQueue: string;
}

/**
 * Loads the worker config. Without an explicit path, a missing `config/worker.yaml` means defaults, so
 * `kappa dev` works from any directory; an explicit path that is missing is an error.
 */
export function loadWorkerConfig(path?: string, env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const file = path ?? env.KAPPA_WORKER_CONFIG ?? DEFAULT_WORKER_CONFIG_PATH;
  let raw: unknown = {};
  let locate = (issue: ConfigIssue): LocatedIssue => ({ file, line: 1, col: 1, ...issue });
  if (path !== undefined || env.KAPPA_WORKER_CONFIG !== undefined || existsSync(file)) {
    const source = readYamlFile(file);
    raw = source.value;
    locate = source.locate;
  }
  const parsed = workerConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(fromZodIssues(parsed.error.issues).map(locate));
  locators.set(parsed.data, locate);
  return parsed.data;
}

const locators = new WeakMap<WorkerConfig, (issue: ConfigIssue) => LocatedIssue>();

/**
 * A problem found with a loaded worker config after loading (a port in use), as a ConfigError that points into
 * the file it came from; a config from elsewhere (tests) is named `worker config`.
 */
export function workerConfigError(config: WorkerConfig, issue: ConfigIssue): ConfigError {
  const locate =
    locators.get(config) ?? ((i: ConfigIssue) => ({ file: 'worker config', line: 1, col: 1, ...i }));
  return new ConfigError([locate(issue)]);
}

/**
 * Temporal connection settings. Each setting comes from the first of:
 *   1. the CLI flags `--address` and `--namespace` (`overrides`);
 *   2. the `TEMPORAL_*` environment variables (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
 *      TEMPORAL_TLS, TEMPORAL_TLS_*, TEMPORAL_GRPC_META_*);
 *   3. the `temporal.toml` profile named by TEMPORAL_PROFILE (default: `default`) in TEMPORAL_CONFIG_FILE
 *      (default: ~/.config/temporalio/temporal.toml), if there is one;
 *   4. the worker config's `temporal:` section (TLS fields one by one), whose defaults are `localhost:7233`,
 *      namespace `default` and no TLS.
 * Steps 2 and 3 are `@temporalio/envconfig`, as in the `temporal` CLI. An API key turns TLS on unless
 * TEMPORAL_TLS=false (or `disabled` in the profile) turns it off. Empty `TEMPORAL_*` variables count as unset.
 * The task queue comes from the worker config only.
 */
export function temporalSettings(
  config: WorkerConfig,
  overrides: { address?: string; namespace?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionSettings {
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: setEnvVars(env) });
  } catch (err) {
    throw new Error(
      `Temporal client config (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE): ${(err as Error).message}`,
    );
  }
  const settings: TemporalConnectionSettings = {
    ...profile,
    address: overrides.address ?? profile.address ?? config.temporal.address,
    namespace: overrides.namespace ?? profile.namespace ?? config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
  };
  const fromFile = fileTls(config.temporal.tls);
  if (fromFile || profile.tls) settings.tls = withHomeExpanded({ ...fromFile, ...profile.tls });
  return settings;
}

/**
 * The environment as `@temporalio/envconfig` takes it: without unset variables, and with empty `TEMPORAL_*` ones
 * counted as unset (an empty TEMPORAL_API_KEY must not turn TLS on), except TEMPORAL_GRPC_META_*, where empty
 * removes a header.
 */
function setEnvVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const set: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value === '' && name.startsWith('TEMPORAL_') && !name.startsWith('TEMPORAL_GRPC_META_')) continue;
    set[name] = value;
  }
  return set;
}

/** The worker config's `temporal.tls` in envconfig's terms. */
function fileTls(tls: WorkerConfig['temporal']['tls']): ClientConfigTLS | undefined {
  if (!tls) return undefined;
  const file = (path?: string): ConfigDataSource | undefined => (path ? { path } : undefined);
  return {
    serverName: tls.serverName,
    serverCACert: file(tls.serverRootCACertPath),
    clientCert: file(tls.clientCertPath),
    clientKey: file(tls.clientKeyPath),
  };
}

/** `~/` in certificate and key paths, from either source, is the home directory. */
function withHomeExpanded(tls: ClientConfigTLS): ClientConfigTLS {
  const expand = (source?: ConfigDataSource) =>
    source && 'path' in source ? { path: expandHome(source.path) } : source;
  return {
    ...tls,
    serverCACert: expand(tls.serverCACert),
    clientCert: expand(tls.clientCert),
    clientKey: expand(tls.clientKey),
  };
}

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}
