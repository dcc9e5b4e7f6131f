// `kappa validate [PATH...]` and `kappa render FILE`
import { stringify } from 'yaml';
import { remoteCommand } from '../../ssh/remote-command.js';
import { shellJoin, shellQuote } from '../../common/shell-quote.js';
import { workflowId } from '../../common/temporal-names.js';
import type { AppConfig } from '../../config/app-config.js';
import { buildPodManifest, type PodDefaults } from '../../kubernetes/pod-manifest.js';
import { expandConfigPaths, loadAppFile, loadAppFiles } from '../../config/load.js';
import { formatLocated } from '../../config/yaml-source.js';
import { listLiveArgv } from '../../yarn/yarn-commands.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

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

export function renderCommand(ctx: CliContext, file: string): number {
  const { config } = loadAppFile(file, { knownHosts: ctx.explicitOrDefaultWorkerConfigHosts });
  process.stdout.write(renderApp(config, ctx.workerConfig.kubernetes));
  return ExitCode.ok;
}

/** Every step as it would run on its first attempt: pod manifests whole, remote commands quoted. */
export function renderApp(config: AppConfig, podDefaults: PodDefaults): string {
  const { yarn } = config.spec;
  const app = config.metadata.name;
  const docs: unknown[] = config.spec.steps.map((step) =>
    step.ssh
      ? {
          step: step.name,
          ssh: { host: step.ssh.host, command: remoteCommand(step.ssh), timeout: step.ssh.timeout },
        }
      : buildPodManifest(
          step.pod!,
          {
            app,
            step: step.name,
            attempt: 1,
            revision: 1,
            workflowId: workflowId(app),
            runId: '<workflow run id>',
          },
          podDefaults,
        ),
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
