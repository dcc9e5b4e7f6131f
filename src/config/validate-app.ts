// Config checking in three stages: schema (zod, which also fills defaults), then the rules no schema can say.
// Pure, so the workflow's `deploy` validator runs exactly what `kappa validate` runs.
import { durationMs } from '../common/duration.js';
import { appConfigSchema, type AppConfig } from './app-config.js';
import { formatPath, fromZodIssues, type ConfigIssue } from './issues.js';

export type AppValidation = { ok: true; config: AppConfig } | { ok: false; issues: ConfigIssue[] };

export interface RuleContext {
  /** Host names from the worker config; when given, every host an app names must be one of them. */
  knownHosts?: readonly string[];
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
  if (durationMs(spec.yarn.pollInterval) === 0) {
    issues.push({ path: ['spec', 'yarn', 'pollInterval'], message: 'must be greater than 0' });
  }

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
