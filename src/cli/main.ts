// The `kappa` CLI. Commands return an exit code or throw; one handler at the bottom turns errors into messages.
import { Command, CommanderError, Option } from 'commander';
import { DEV_UI_PORT } from '../common/temporal-names.js';
import type * as WorkerModule from '../worker.js';
import type * as DevModule from './commands/dev.js';
import { ConfigError, formatLocated } from '../config/yaml-source.js';
import { deployCommand, runCommand, type DeployOptions } from './commands/deploy.js';
import { restartCommand, stopCommand, type StopOptions } from './commands/control.js';
import { listCommand, statusCommand } from './commands/inspect.js';
import { logsCommand, logsOptions, type LogsOptions } from './commands/logs.js';
import { renderCommand, validateClusterCommand, validateCommand } from './commands/validate.js';
import { CliContext, type GlobalOptions } from './context.js';
import { CliError, ExitCode } from './errors.js';
import { timeoutOption } from './options.js';

// Loaded on demand: the worker brings the Temporal worker runtime and the Kubernetes client, which the other
// commands do without (they start in a third of the time). `require`, not `import()`: this is CommonJS, and the
// TypeScript loader used from source hooks require only.
/* eslint-disable @typescript-eslint/no-require-imports */
const loadWorker = () => require('../worker.js') as typeof WorkerModule;
const loadDev = () => require('./commands/dev.js') as typeof DevModule;
/* eslint-enable @typescript-eslint/no-require-imports */

export async function main(argv: string[]): Promise<number> {
  let ctx: CliContext | undefined;
  let exitCode: number = ExitCode.ok;
  const program = new Command('kappa')
    .description('Keeps Spark applications alive on Hadoop YARN, driven by Temporal')
    .option(
      '--worker-config <path>',
      'worker config file (default config/worker.yaml, or $KAPPA_WORKER_CONFIG)',
    )
    .option(
      '--address <host:port>',
      'Temporal frontend address (overrides $TEMPORAL_ADDRESS, a temporal.toml profile and the worker config)',
    )
    .option(
      '--namespace <name>',
      'Temporal namespace (overrides $TEMPORAL_NAMESPACE, a temporal.toml profile and the worker config)',
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  const context = () => (ctx ??= new CliContext(program.opts<GlobalOptions>()));
  const run =
    <A extends unknown[]>(fn: (...args: A) => Promise<number> | number) =>
    async (...args: A) => {
      exitCode = await fn(...args);
    };

  program
    .command('validate [paths...]')
    .description('validate app configs (default: config/apps)')
    .option(
      '--cluster',
      "also send each pod, Deployment and Service to the kubeconfig's cluster as a strict server-side dry run",
    )
    .action(
      run((paths: string[], options: { cluster?: boolean }) =>
        options.cluster ? validateClusterCommand(context(), paths) : validateCommand(context(), paths),
      ),
    );
  program
    .command('render <file>')
    .description('print what would run: pods, remote commands, YARN supervision, schedule')
    .action(run((file: string) => renderCommand(context(), file)));
  program
    .command('deploy <paths...>')
    .description('start apps, or update running ones to these configs (a directory: its .yaml files)')
    .option('--wait', 'wait until the YARN app is RUNNING (a batch run: done)')
    .addOption(timeoutOption('how long --wait waits', '10m'))
    .option('--json', 'print the result as JSON')
    .action(run((files: string[], options: DeployOptions) => deployCommand(context(), files, options)));
  program
    .command('run <job>')
    .description('run a BatchJob now (triggers its schedule)')
    .option('--wait', 'wait for the run to end: exit 0 when its YARN app SUCCEEDED')
    .addOption(timeoutOption('how long --wait waits', '1h'))
    .option('--json', 'print the result as JSON')
    .action(run((job: string, options: DeployOptions) => runCommand(context(), job, options)));
  program
    .command('status [app]')
    .description('phase, step, restarts, YARN app id, last heartbeat, last error (all apps without APP)')
    .option('--json', 'print JSON')
    .action(
      run((app: string | undefined, options: { json?: boolean }) => statusCommand(context(), app, options)),
    );
  program
    .command('list')
    .description('all apps')
    .option('--json', 'print JSON')
    .action(run((options: { json?: boolean }) => listCommand(context(), options)));
  program
    .command('stop <app>')
    .description('stop supervising and kill the YARN app')
    .option('--leave-running', 'leave the YARN application running')
    .option('--reason <text>', 'recorded with the stop')
    .addOption(timeoutOption('how long to wait for the stop to finish', '5m'))
    .action(run((app: string, options: StopOptions) => stopCommand(context(), app, options)));
  program
    .command('restart <app>')
    .description('re-run the steps now; not counted against the restart budget')
    .option('--reason <text>', 'recorded with the restart')
    .action(run((app: string, options: { reason?: string }) => restartCommand(context(), app, options)));
  logsOptions(program.command('logs <app>')).action(
    run((app: string, options: LogsOptions) => logsCommand(context(), app, options)),
  );
  program
    .command('worker')
    .description('run a worker')
    .action(
      run(async () => {
        const { runWorker } = loadWorker();
        await runWorker(context().workerConfig, context().settings);
        return ExitCode.ok;
      }),
    );
  program
    .command('dev')
    .description(
      'a local Temporal dev server (UI on http://localhost:8233) and a worker; with a JDK, a local YARN sandbox and an example app',
    )
    .option('--ui-port <port>', 'Temporal Web UI port', String(DEV_UI_PORT))
    .option('--no-sandbox', 'no local YARN sandbox: Temporal and the worker only')
    .action(
      run(async (options: DevModule.DevOptions) => {
        return loadDev().devCommand(context(), options);
      }),
    );
  program.addOption(new Option('--debug', 'print stack traces').hideHelp());

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (err) {
    return reportError(err, program.opts<{ debug?: boolean }>().debug ?? false);
  } finally {
    await ctx?.close();
  }
}

/** The one place errors become messages and exit codes. */
function reportError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander printed the message already; help and version are not errors.
    return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  }
  if (err instanceof ConfigError) {
    for (const issue of err.issues) console.error(formatLocated(issue));
    return ExitCode.usage;
  }
  if (err instanceof CliError) {
    console.error(`kappa: ${err.message}`);
    return err.exitCode;
  }
  console.error(`kappa: ${err instanceof Error ? err.message : String(err)}`);
  if (debug && err instanceof Error) console.error(err.stack);
  return ExitCode.failed;
}

/** Entry point for bin/kappa and `tsx src/cli/main.ts`. */
export function runCli(): void {
  main(process.argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err);
      process.exitCode = ExitCode.failed;
    },
  );
}

if (require.main === module) runCli();
