// Config checking in three stages: schema (zod, which also fills defaults), then the rules no schema can say.
// Pure, so the workflow's `deploy` validator runs what `kappa validate` runs (all but the minimums, which need
// RuleContext.minimums).
import { durationMs } from '../common/duration.js';
import {
  appConfigSchema,
  SeccompProfileType,
  SecurityProfile,
  type AppConfig,
  type PodSecurityContext,
  type PodStep,
  type SecurityContext,
  type SecurityProfile as SecurityProfileName,
  type Step,
} from './app-config.js';
import { outsideLimits, type DurationLimits } from './fields.js';
import { formatPath, fromZodIssues, type ConfigIssue, type ConfigPath } from './issues.js';
import { APP_DURATION_LIMITS as LIMITS } from './limits.js';
import { findStepRefs, STEP_REF_ATTRIBUTES } from './step-refs.js';

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
    const podPath: ConfigPath = ['spec', 'steps', i, 'pod'];
    for (const { path, env, secretEnv } of envHolders(step, i)) {
      for (const name of Object.keys(env ?? {})) {
        if (SECRET_LOOKING_NAME.test(name)) {
          issues.push({
            path: [...path, 'env', name],
            message:
              'looks like a secret: use secretEnv (pod steps) or the host environment, never an inline value',
          });
        }
      }
      for (const name of Object.keys(secretEnv ?? {})) {
        if (env !== undefined && Object.hasOwn(env, name)) {
          issues.push({
            path: [...path, 'secretEnv', name],
            atKey: true,
            message: `"${name}" is also in env (${formatPath([...path, 'env', name])}): one would hide the other in the container; set it in one place`,
          });
        }
      }
    }
    if (step.service) {
      const path: ConfigPath = ['spec', 'steps', i, 'service'];
      issues.push(
        ...securityIssues(step.service, [{ path, securityContext: step.service.securityContext }], path),
      );
    }
    if (step.pod) {
      issues.push(...securityIssues(step.pod, podContainers(step.pod, podPath), podPath));
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

  issues.push(...stepRefIssues(config));
  return issues;
}

/**
 * `${steps.<name>.url|host|port}` must name a service step that runs before the referring step (its address is
 * what Kappa fills in), and may only appear where Kappa resolves it; anything else of the form `${steps.…}` would
 * reach the program as written.
 */
function stepRefIssues(config: AppConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const steps = config.spec.steps;
  const index = new Map<string, number>();
  steps.forEach((step, i) => {
    if (!index.has(step.name)) index.set(step.name, i);
  });
  const form = `\${steps.<step>.${STEP_REF_ATTRIBUTES.join('|')}}`;
  for (const ref of findStepRefs(config)) {
    const at = ref.stepIndex ?? steps.length;
    const before = steps
      .slice(0, at)
      .filter((s) => s.service)
      .map((s) => s.name);
    const candidates = before.length > 0 ? ` (service steps before it: ${before.join(', ')})` : '';
    const refuse = (message: string) => issues.push({ path: ref.path, message: `${ref.text}: ${message}` });
    if (!ref.resolvable) {
      refuse(
        'step references are resolved only in args, command and env values (and an ssh script) of steps',
      );
      continue;
    }
    if (ref.step === undefined) {
      refuse(`not a step reference: expected ${form}`);
      continue;
    }
    const target = index.get(ref.step);
    if (target === undefined) refuse(`no service step "${ref.step}" before this step${candidates}`);
    else if (!steps[target]!.service) refuse(`step "${ref.step}" is not a service step${candidates}`);
    else if (target === at) refuse(`a service step cannot use its own address`);
    else if (target > at)
      refuse(`service step "${ref.step}" runs after this step: only earlier service steps can be used`);
    else if (!(STEP_REF_ATTRIBUTES as readonly string[]).includes(ref.attribute ?? ''))
      refuse(`unknown attribute "${ref.attribute}": a service step has ${STEP_REF_ATTRIBUTES.join(', ')}`);
  }
  return issues;
}

/** Where a step's environment variables are: a pod's containers, the service's container, the ssh command. */
function envHolders(
  step: Step,
  i: number,
): { path: ConfigPath; env?: Record<string, string>; secretEnv?: Record<string, unknown> }[] {
  if (step.pod) return podContainers(step.pod, ['spec', 'steps', i, 'pod']);
  if (step.service) return [{ path: ['spec', 'steps', i, 'service'], ...step.service }];
  return [{ path: ['spec', 'steps', i, 'ssh'], env: step.ssh?.env }];
}

/** A pod step's containers, main first, each with the path its fields are under. */
function podContainers(pod: PodStep, podPath: ConfigPath) {
  return [
    { path: podPath, name: 'main', ...pod },
    ...pod.initContainers.map((c, j) => ({ path: [...podPath, 'initContainers', j], ...c })),
    ...pod.sidecars.map((c, j) => ({ path: [...podPath, 'sidecars', j], ...c })),
  ];
}

/** What the restricted Pod Security Standard lets a container add to its capabilities. */
const RESTRICTED_ADD = new Set(['NET_BIND_SERVICE']);
/** What the baseline standard lets it add: the container runtimes' default set. */
const BASELINE_ADD = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/**
 * Security settings the API server refuses together, and, with `securityProfile`, settings that break that Pod
 * Security Standard (k8s.io/pod-security-admission): a namespace enforcing it would refuse the pod. `restricted`
 * settings left out are filled in by the pod and service builders (RESTRICTED_POD, RESTRICTED_CONTAINER), so only
 * what is set is checked here. `pod` is a pod step or a service step (whose pods have one container).
 */
function securityIssues(
  pod: { podSecurityContext?: PodSecurityContext; securityProfile?: SecurityProfileName },
  containers: { path: ConfigPath; securityContext?: SecurityContext }[],
  podPath: ConfigPath,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const profile = pod.securityProfile;
  const restricted = profile === SecurityProfile.restricted;
  const under = `under securityProfile: ${profile}`;
  const refuse = (path: ConfigPath, message: string) => issues.push({ path, message });
  const checkUser = (
    sc: { runAsUser?: number; runAsNonRoot?: boolean; seccompProfile?: { type: string } } | undefined,
    path: ConfigPath,
    leftOut: string,
  ) => {
    if (sc?.seccompProfile?.type === SeccompProfileType.Unconfined && profile !== undefined)
      refuse([...path, 'seccompProfile', 'type'], `must be RuntimeDefault or Localhost ${under}`);
    if (!restricted) return;
    if (sc?.runAsNonRoot === false) refuse([...path, 'runAsNonRoot'], `must not be false ${under}${leftOut}`);
    if (sc?.runAsUser === 0) refuse([...path, 'runAsUser'], `must not be 0 (root) ${under}`);
  };
  checkUser(pod.podSecurityContext, [...podPath, 'podSecurityContext'], ' (left out, Kappa sets true)');

  for (const { path: containerPath, securityContext: sc } of containers) {
    const path = [...containerPath, 'securityContext'];
    checkContradictions(sc, path, refuse);
    checkUser(sc, path, " (left out, the pod's runAsNonRoot: true applies)");
    if (profile === undefined || sc === undefined) continue;
    if (sc.privileged === true) refuse([...path, 'privileged'], `must not be true ${under}`);
    if (restricted && sc.allowPrivilegeEscalation === true)
      refuse([...path, 'allowPrivilegeEscalation'], `must not be true ${under} (left out, Kappa sets false)`);
    const allowed = restricted ? RESTRICTED_ADD : BASELINE_ADD;
    sc.capabilities?.add?.forEach((cap, k) => {
      if (!allowed.has(cap)) {
        const may = restricted ? 'only NET_BIND_SERVICE' : `only ${[...BASELINE_ADD].join(', ')}`;
        refuse([...path, 'capabilities', 'add', k], `${cap} may not be added ${under}: ${may}`);
      }
    });
    const drop = sc.capabilities?.drop;
    if (restricted && drop !== undefined && !drop.includes('ALL'))
      refuse([...path, 'capabilities', 'drop'], `must include ALL ${under} (left out, Kappa sets [ALL])`);
  }
  return issues;
}

/** Pairs the API server refuses in one container's securityContext, whatever the profile. */
function checkContradictions(
  sc: SecurityContext | undefined,
  path: ConfigPath,
  refuse: (path: ConfigPath, message: string) => void,
): void {
  if (sc?.allowPrivilegeEscalation !== false) return;
  if (sc.privileged === true)
    refuse([...path, 'privileged'], 'cannot be true with allowPrivilegeEscalation: false');
  sc.capabilities?.add?.forEach((cap, k) => {
    if (cap === 'CAP_SYS_ADMIN')
      refuse(
        [...path, 'capabilities', 'add', k],
        'cannot add CAP_SYS_ADMIN with allowPrivilegeEscalation: false',
      );
  });
}

/** A step's durations with their limits and paths. */
function stepDurations(step: Step, at: ConfigPath): [string, DurationLimits, ConfigPath][] {
  if (step.pod) return [[step.pod.timeout, LIMITS.podStepTimeout, [...at, 'pod', 'timeout']]];
  if (step.ssh) return [[step.ssh.timeout, LIMITS.sshStepTimeout, [...at, 'ssh', 'timeout']]];
  if (!step.service) return [];
  const { timeout, unavailableTimeout, readinessProbe: probe } = step.service;
  const path: ConfigPath = [...at, 'service'];
  const fields: [string, DurationLimits, ConfigPath][] = [
    [timeout, LIMITS.serviceStepTimeout, [...path, 'timeout']],
    [unavailableTimeout, LIMITS.serviceUnavailableTimeout, [...path, 'unavailableTimeout']],
  ];
  const probePath: ConfigPath = [...path, 'readinessProbe'];
  if (probe?.initialDelay !== undefined)
    fields.push([probe.initialDelay, LIMITS.probeInitialDelay, [...probePath, 'initialDelay']]);
  if (probe) fields.push([probe.period, LIMITS.probePeriod, [...probePath, 'period']]);
  return fields;
}

/** Durations below their minimum, and an unreachableTimeout shorter than two polls. */
function belowMinimums({ spec }: AppConfig): ConfigIssue[] {
  const fields: [string, DurationLimits, ConfigPath][] = [
    [spec.yarn.pollInterval, LIMITS.pollInterval, ['spec', 'yarn', 'pollInterval']],
    [spec.yarn.unreachableTimeout, LIMITS.unreachableTimeout, ['spec', 'yarn', 'unreachableTimeout']],
    [spec.yarn.appearTimeout, LIMITS.appearTimeout, ['spec', 'yarn', 'appearTimeout']],
    [spec.yarn.acceptedTimeout, LIMITS.acceptedTimeout, ['spec', 'yarn', 'acceptedTimeout']],
    [
      spec.restartPolicy.backoff.initial,
      LIMITS.backoffInitial,
      ['spec', 'restartPolicy', 'backoff', 'initial'],
    ],
    [spec.restartPolicy.backoff.max, LIMITS.backoffMax, ['spec', 'restartPolicy', 'backoff', 'max']],
    [spec.restartPolicy.resetAfter, LIMITS.resetAfter, ['spec', 'restartPolicy', 'resetAfter']],
    ...spec.steps.flatMap((step, i) => stepDurations(step, ['spec', 'steps', i])),
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
