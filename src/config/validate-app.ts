// Config checking in three stages: schema (zod, which also fills defaults), then the rules no schema can say.
// Pure, so the workflow's `deploy` validator runs what `kappa validate` runs (all but the minimums, which need
// RuleContext.minimums).
import { durationMs } from '../common/duration.js';
import { appConfigSchema, type AppConfig } from './app-config.js';
import { outsideLimits, type DurationLimits } from './fields.js';
import { formatPath, fromZodIssues, type ConfigIssue, type ConfigPath } from './issues.js';
import { APP_DURATION_LIMITS as LIMITS } from './limits.js';

export type AppValidation = { ok: true; config: AppConfig } | { ok: false; issues: ConfigIssue[] };

export interface RuleContext {
  /** Host names from the worker config; when given, every host an app names must be one of them. */
  knownHosts?: readonly string[];
  /**
   * Also refuse what makes no sense for a real cluster: durations below their minimum (limits.ts: a poll more
   * often than every second, …) and an unreachableTimeout shorter than two polls. `kappa validate` and
   * `kappa deploy` set it (loadAppFile). The workflow's deploy validator and the tests do not, so tests can poll
   * every 250 ms; the schema's own limits (greater than 0, at most the maximum) hold everywhere.
   */
  minimums?: boolean;
}

export function validateAppConfig(raw: unknown, context: RuleContext = {}): AppValidation {
  const parsed = appConfigSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: fromZodIssues(parsed.error.issues) };
  const issues = checkRules(parsed.data, context);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config: parsed.data };
}

const SECRET_LOOKING_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY)$/i;

function checkRules(config: AppConfig, context: RuleContext): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const { spec } = config;

  const firstIndex = new Map<string, number>();
  spec.steps.forEach((step, i) => {
    const first = firstIndex.get(step.name);
    if (first === undefined) firstIndex.set(step.name, i);
    else
      issues.push({
        path: ['spec', 'steps', i, 'name'],
        message: `duplicate step name "${step.name}" (also ${formatPath(['spec', 'steps', first])})`,
      });
  });

  const { restartPolicy } = spec;
  if (restartPolicy.from !== undefined && !firstIndex.has(restartPolicy.from)) {
    issues.push({
      path: ['spec', 'restartPolicy', 'from'],
      message: `names no step; the steps are: ${[...firstIndex.keys()].join(', ')}`,
    });
  }
  if (durationMs(restartPolicy.backoff.max) < durationMs(restartPolicy.backoff.initial)) {
    issues.push({
      path: ['spec', 'restartPolicy', 'backoff', 'max'],
      message: `must be at least backoff.initial (${restartPolicy.backoff.initial})`,
    });
  }
  if (context.minimums) issues.push(...belowMinimums(config));

  const checkHost = (host: string, path: (string | number)[]) => {
    if (host === 'local' || context.knownHosts === undefined || context.knownHosts.includes(host)) return;
    const known = context.knownHosts.length > 0 ? context.knownHosts.join(', ') : 'none';
    issues.push({
      path,
      message: `unknown host "${host}"; the worker config has: ${known} (or use "local")`,
    });
  };
  checkHost(spec.yarn.host, ['spec', 'yarn', 'host']);

  spec.steps.forEach((step, i) => {
    if (step.ssh) checkHost(step.ssh.host, ['spec', 'steps', i, 'ssh', 'host']);
    const containers = step.pod
      ? [
          { path: ['spec', 'steps', i, 'pod'], env: step.pod.env },
          ...step.pod.initContainers.map((c, j) => ({
            path: ['spec', 'steps', i, 'pod', 'initContainers', j],
            env: c.env,
          })),
          ...step.pod.sidecars.map((c, j) => ({
            path: ['spec', 'steps', i, 'pod', 'sidecars', j],
            env: c.env,
          })),
        ]
      : [{ path: ['spec', 'steps', i, 'ssh'], env: step.ssh?.env }];
    for (const { path, env } of containers) {
      for (const name of Object.keys(env ?? {})) {
        if (SECRET_LOOKING_NAME.test(name)) {
          issues.push({
            path: [...path, 'env', name],
            message:
              'looks like a secret: use secretEnv (pod steps) or the host environment, never an inline value',
          });
        }
      }
    }
    if (step.pod) {
      const names = new Map<string, string>();
      const add = (name: string, path: (string | number)[]) => {
        const other = names.get(name);
        if (other)
          issues.push({
            path,
            message: `container name "${name}" is used twice in this pod (also ${other})`,
          });
        else names.set(name, formatPath(path));
      };
      add('main', ['spec', 'steps', i, 'pod']);
      step.pod.initContainers.forEach((c, j) =>
        add(c.name, ['spec', 'steps', i, 'pod', 'initContainers', j, 'name']),
      );
      step.pod.sidecars.forEach((c, j) => add(c.name, ['spec', 'steps', i, 'pod', 'sidecars', j, 'name']));
    }
  });

  return issues;
}

/** Durations below their minimum, and an unreachableTimeout shorter than two polls. */
function belowMinimums({ spec }: AppConfig): ConfigIssue[] {
  const fields: [string, DurationLimits, ConfigPath][] = [
    [spec.yarn.pollInterval, LIMITS.pollInterval, ['spec', 'yarn', 'pollInterval']],
    [spec.yarn.unreachableTimeout, LIMITS.unreachableTimeout, ['spec', 'yarn', 'unreachableTimeout']],
    [spec.yarn.appearTimeout, LIMITS.appearTimeout, ['spec', 'yarn', 'appearTimeout']],
    [
      spec.restartPolicy.backoff.initial,
      LIMITS.backoffInitial,
      ['spec', 'restartPolicy', 'backoff', 'initial'],
    ],
    [spec.restartPolicy.backoff.max, LIMITS.backoffMax, ['spec', 'restartPolicy', 'backoff', 'max']],
    [spec.restartPolicy.resetAfter, LIMITS.resetAfter, ['spec', 'restartPolicy', 'resetAfter']],
    ...spec.steps.map((step, i): [string, DurationLimits, ConfigPath] =>
      step.pod
        ? [step.pod.timeout, LIMITS.podStepTimeout, ['spec', 'steps', i, 'pod', 'timeout']]
        : [step.ssh!.timeout, LIMITS.sshStepTimeout, ['spec', 'steps', i, 'ssh', 'timeout']],
    ),
  ];
  const issues: ConfigIssue[] = [];
  for (const [text, limits, path] of fields) {
    const message = outsideLimits(durationMs(text), limits);
    if (message !== undefined) issues.push({ path, message });
  }
  const { pollInterval, unreachableTimeout } = spec.yarn;
  const unreachableMs = durationMs(unreachableTimeout);
  if (
    unreachableMs >= durationMs(LIMITS.unreachableTimeout.min) &&
    unreachableMs < 2 * durationMs(pollInterval)
  ) {
    issues.push({
      path: ['spec', 'yarn', 'unreachableTimeout'],
      message: `must be at least twice yarn.pollInterval (${pollInterval}): two failed polls make the edge node count as unreachable`,
    });
  }
  return issues;
}
