// `kappa validate [PATH...] [--cluster]` and `kappa render FILE`
import { stringify } from 'yaml';
import { remoteCommand } from '../../ssh/remote-command.js';
import { shellJoin, shellQuote } from '../../common/shell-quote.js';
import { workflowId } from '../../common/temporal-names.js';
import type { AppConfig, PodStep, ServiceStep, Step } from '../../config/app-config.js';
import { describeResolved, resolveStepRefs } from '../../config/step-refs.js';
import type * as DryRunModule from '../../kubernetes/dry-run.js';
import { buildPodManifest, type PodDefaults } from '../../kubernetes/pod-manifest.js';
import {
  buildServiceManifests,
  SERVICE_FIELD_MANAGER,
  serviceStepRefs,
  type ServiceManifests,
} from '../../kubernetes/service-manifest.js';
import { expandConfigPaths, loadAppFile, loadAppFiles } from '../../config/load.js';
import { formatLocated } from '../../config/yaml-source.js';
import { listLiveArgv } from '../../yarn/yarn-commands.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

// The Kubernetes client only for --cluster: the other commands start without it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const loadDryRun = () => require('../../kubernetes/dry-run.js') as typeof DryRunModule;

export function validateCommand(ctx: CliContext, paths: string[]): number {
  const files = expandConfigPaths(paths.length > 0 ? paths : ['config/apps']);
  if (files.length === 0)
    throw new CliError(`no .yaml files in ${paths.join(' ') || 'config/apps'}`, ExitCode.failed);
  const { apps, issues } = loadAppFiles(files, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  const bad = new Set(issues.map((i) => i.file));
  for (const app of apps)
    if (!bad.has(app.file)) console.log(`ok  ${app.file} (${app.config.kind} ${app.config.metadata.name})`);
  for (const issue of issues) console.error(formatLocated(issue));
  if (issues.length > 0) {
    console.error(`${bad.size} of ${files.length} file${files.length === 1 ? '' : 's'} invalid`);
    return ExitCode.failed;
  }
  return ExitCode.ok;
}

/**
 * `kappa validate --cluster`: the local checks, then every pod, and every service step's Deployment and Service,
 * as `kappa render` builds them, sent to the cluster of the kubeconfig as a strict server-side dry run (pods as a
 * create, the service's objects as a server-side apply, as the worker sends them). Exit 0 all accepted; 1 any refused or the cluster
 * unreachable; 2 an invalid config or no kubeconfig (nothing is sent).
 */
export async function validateClusterCommand(ctx: CliContext, paths: string[]): Promise<number> {
  const files = expandConfigPaths(paths.length > 0 ? paths : ['config/apps']);
  if (files.length === 0)
    throw new CliError(`no .yaml files in ${paths.join(' ') || 'config/apps'}`, ExitCode.usage);
  const { apps, issues } = loadAppFiles(files, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  if (issues.length > 0) {
    for (const issue of issues) console.error(formatLocated(issue));
    const bad = new Set(issues.map((i) => i.file)).size;
    console.error(`${bad} of ${files.length} file${files.length === 1 ? '' : 's'} invalid; nothing sent`);
    return ExitCode.usage;
  }
  const podDefaults = ctx.workerConfig.kubernetes;
  const { dryRun, kubeTarget, loadKubeConfig, KubeConfigMissing } = loadDryRun();
  let kube;
  try {
    kube = loadKubeConfig();
  } catch (err) {
    throw err instanceof KubeConfigMissing ? new CliError(err.message, ExitCode.usage) : err;
  }
  const target = kubeTarget(kube);
  const sent = new Map<string, number>();
  let refused = 0;
  for (const { file, config } of apps) {
    const objects = kubernetesObjects(config, podDefaults);
    if (objects.length === 0) console.log(`ok        ${file} (no pod steps)`);
    for (const { step, object, mode } of objects) {
      const { kind, metadata } = object;
      const where = `${file}: step ${step}: ${kind.toLowerCase()} ${metadata.namespace}/${metadata.name}`;
      let verdict: DryRunModule.DryRunVerdict;
      try {
        verdict = await dryRun(kube, object, { mode, fieldManager: SERVICE_FIELD_MANAGER });
      } catch (err) {
        throw new CliError(`${where}: ${(err as Error).message}`, ExitCode.failed);
      }
      sent.set(kind, (sent.get(kind) ?? 0) + 1);
      if (verdict.accepted) console.log(`accepted  ${where}`);
      else {
        refused++;
        console.error(`refused   ${where}: ${verdict.message}`);
      }
      const print = verdict.accepted ? console.log : console.error;
      for (const warning of verdict.warnings) print(`  warning: ${warning}`);
    }
  }
  const total = [...sent.values()].reduce((a, b) => a + b, 0);
  const counted = countedKinds(sent, total);
  if (refused > 0) {
    console.error(`${refused} of ${counted} refused by ${target}`);
    return ExitCode.failed;
  }
  const kind = [...sent.keys()][0]?.toLowerCase();
  const all = total === 0 ? 'no pods' : total === 1 ? `the ${kind}` : `all ${counted}`;
  console.log(`${all} accepted by ${target}`);
  return ExitCode.ok;
}

interface ClusterObject {
  step: string;
  object: { apiVersion: string; kind: string; metadata: { name: string; namespace: string } };
  /** Pods are created (what the worker does); a service's objects server-side applied (what the worker does). */
  mode: DryRunModule.DryRunMode;
}

/** `2 pods`; of several kinds `4 objects (2 pods, 1 deployment, 1 service)`. */
function countedKinds(sent: Map<string, number>, total: number): string {
  const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const parts = [...sent].map(([kind, n]) => plural(n, kind.toLowerCase()));
  if (parts.length === 0) return '0 pods';
  return parts.length === 1 ? parts[0]! : `${plural(total, 'object')} (${parts.join(', ')})`;
}

/** What the app's steps send to Kubernetes on a first deploy, in step order, references resolved. */
function kubernetesObjects(config: AppConfig, podDefaults: PodDefaults): ClusterObject[] {
  const values = serviceStepRefs(config.metadata.name, config.spec.steps, podDefaults);
  const out: ClusterObject[] = [];
  for (const raw of config.spec.steps) {
    const step = resolveStepRefs(raw, values);
    if (step.pod) {
      const pod = firstAttemptPod(config, step.name, step.pod, podDefaults);
      out.push({ step: step.name, object: pod as ClusterObject['object'], mode: 'create' });
    }
    if (step.service) {
      const manifests = firstDeployService(config, step.name, step.service, podDefaults);
      for (const object of [manifests.deployment, manifests.service])
        out.push({ step: step.name, object: object as ClusterObject['object'], mode: 'apply' });
    }
  }
  return out;
}

export function renderCommand(ctx: CliContext, file: string): number {
  const { config } = loadAppFile(file, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  process.stdout.write(renderApp(config, ctx.workerConfig.kubernetes));
  return ExitCode.ok;
}

/**
 * Every step as it would run on its first attempt: a service step's Deployment and Service, pod manifests whole,
 * remote commands quoted; `${steps.…}` references resolved, each step's said in a comment.
 */
export function renderApp(config: AppConfig, podDefaults: PodDefaults): string {
  const { yarn } = config.spec;
  const values = serviceStepRefs(config.metadata.name, config.spec.steps, podDefaults);
  const docs: string[] = config.spec.steps.flatMap((raw) => {
    const step = resolveStepRefs(raw, values);
    const resolved = describeResolved(raw, values).map(
      ({ ref, value }) => `# step ${step.name}: ${ref} resolved to ${value}\n`,
    );
    return renderStep(config, step, podDefaults).map((doc, i) => (i === 0 ? resolved.join('') : '') + doc);
  });
  docs.push(
    yamlDoc({
      supervise: {
        host: yarn.host,
        appName: yarn.appName,
        command: `${shellJoin(listLiveArgv('yarn'))}  # every ${yarn.pollInterval}, shared by all apps on ${yarn.host}`,
        match: `Application-Name == ${shellQuote(yarn.appName)}`,
      },
    }),
  );
  if (config.kind === 'BatchJob' && config.spec.schedule)
    docs.push(yamlDoc({ schedule: config.spec.schedule }));
  return docs.join('---\n');
}

const yamlDoc = (doc: unknown) => stringify(doc, { lineWidth: 0 });

/** One step's YAML documents, its references already resolved. */
function renderStep(config: AppConfig, step: Step, podDefaults: PodDefaults): string[] {
  if (step.ssh) {
    const { host, timeout } = step.ssh;
    return [yamlDoc({ step: step.name, ssh: { host, command: remoteCommand(step.ssh), timeout } })];
  }
  if (step.pod) return [yamlDoc(firstAttemptPod(config, step.name, step.pod, podDefaults))];
  const service = firstDeployService(config, step.name, step.service!, podDefaults);
  const refs = (['url', 'host', 'port'] as const)
    .map((attribute) => `\${steps.${step.name}.${attribute}} = ${service[attribute]}`)
    .join(', ');
  const said =
    `# step ${step.name}: a Deployment and a Service, server-side applied as field manager ${SERVICE_FIELD_MANAGER}, Available within ${step.service!.timeout}\n` +
    `# step ${step.name}: ${refs}\n`;
  return [said + yamlDoc(service.deployment), yamlDoc(service.service)];
}

/** A service step's Deployment and Service as a first deploy (revision 1) applies them. */
export function firstDeployService(
  config: AppConfig,
  step: string,
  service: ServiceStep,
  podDefaults: PodDefaults,
): ServiceManifests {
  return buildServiceManifests(service, {
    app: config.metadata.name,
    step,
    revision: 1,
    namespace: podDefaults.namespace,
    ...(podDefaults.serviceAccount !== undefined ? { serviceAccount: podDefaults.serviceAccount } : {}),
  });
}

/** A pod step's pod as its first attempt creates it (`kappa render` prints it, `validate --cluster` sends it). */
export function firstAttemptPod(config: AppConfig, step: string, pod: PodStep, podDefaults: PodDefaults) {
  const app = config.metadata.name;
  return buildPodManifest(
    pod,
    { app, step, attempt: 1, revision: 1, workflowId: workflowId(app), runId: '<workflow run id>' },
    podDefaults,
  );
}
