// `kappa validate [PATH...] [--cluster]` and `kappa render FILE`
import { stringify } from 'yaml';
import { remoteCommand } from '../../ssh/remote-command.js';
import { shellJoin, shellQuote } from '../../common/shell-quote.js';
import { workflowId } from '../../common/temporal-names.js';
import type { AppConfig, PodStep } from '../../config/app-config.js';
import type * as DryRunModule from '../../kubernetes/dry-run.js';
import { buildPodManifest, type PodDefaults } from '../../kubernetes/pod-manifest.js';
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
 * `kappa validate --cluster`: the local checks, then every pod as `kappa render` builds it, sent to the
 * cluster of the kubeconfig as a strict server-side dry run. Exit 0 all accepted; 1 any refused or the cluster
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
  let sent = 0;
  let refused = 0;
  for (const { file, config } of apps) {
    const steps = config.spec.steps.filter((step) => step.pod);
    if (steps.length === 0) console.log(`ok        ${file} (no pod steps)`);
    for (const step of steps) {
      const pod = firstAttemptPod(config, step.name, step.pod!, podDefaults);
      const where = `${file}: step ${step.name}: pod ${pod.metadata!.namespace}/${pod.metadata!.name}`;
      let verdict: DryRunModule.DryRunVerdict;
      try {
        verdict = await dryRun(kube, pod);
      } catch (err) {
        throw new CliError(`${where}: ${(err as Error).message}`, ExitCode.failed);
      }
      sent++;
      if (verdict.accepted) console.log(`accepted  ${where}`);
      else {
        refused++;
        console.error(`refused   ${where}: ${verdict.message}`);
      }
      const print = verdict.accepted ? console.log : console.error;
      for (const warning of verdict.warnings) print(`  warning: ${warning}`);
    }
  }
  const pods = `${sent} pod${sent === 1 ? '' : 's'}`;
  if (refused > 0) {
    console.error(`${refused} of ${pods} refused by ${target}`);
    return ExitCode.failed;
  }
  console.log(`${sent === 1 ? 'the pod' : sent === 0 ? 'no pods' : `all ${pods}`} accepted by ${target}`);
  return ExitCode.ok;
}

export function renderCommand(ctx: CliContext, file: string): number {
  const { config } = loadAppFile(file, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  process.stdout.write(renderApp(config, ctx.workerConfig.kubernetes));
  return ExitCode.ok;
}

/** Every step as it would run on its first attempt: pod manifests whole, remote commands quoted. */
export function renderApp(config: AppConfig, podDefaults: PodDefaults): string {
  const { yarn } = config.spec;
  const docs: unknown[] = config.spec.steps.map((step) =>
    step.ssh
      ? {
          step: step.name,
          ssh: { host: step.ssh.host, command: remoteCommand(step.ssh), timeout: step.ssh.timeout },
        }
      : firstAttemptPod(config, step.name, step.pod!, podDefaults),
  );
  docs.push({
    supervise: {
      host: yarn.host,
      appName: yarn.appName,
      command: `${shellJoin(listLiveArgv('yarn'))}  # every ${yarn.pollInterval}, shared by all apps on ${yarn.host}`,
      match: `Application-Name == ${shellQuote(yarn.appName)}`,
    },
  });
  if (config.kind === 'BatchJob' && config.spec.schedule) docs.push({ schedule: config.spec.schedule });
  return docs.map((doc) => stringify(doc, { lineWidth: 0 })).join('---\n');
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
