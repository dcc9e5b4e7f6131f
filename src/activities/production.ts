// The dependencies a production worker hands its activities: SSH to the edge nodes, the yarn CLI there, and the
// step runners. The pod runner arrives with the Kubernetes work; until then a pod step fails with NotConfigured.
import type { WorkerConfig } from '../config/worker-config.js';
import { HostCommandRunner } from '../ssh/command-runner.js';
import { SshPool } from '../ssh/ssh-pool.js';
import { YarnCli } from '../yarn/yarn-cli.js';
import type { KappaDeps } from './deps.js';
import { SshStepRunner } from './ssh-step.js';

export function productionDeps(config: WorkerConfig): KappaDeps & { close(): void } {
  const pool = new SshPool(config.hosts);
  const runner = new HostCommandRunner(pool);
  const yarnCommands = Object.fromEntries([
    ['local', config.local.yarnCommand],
    ...Object.entries(config.hosts).map(([name, host]) => [name, host.yarnCommand]),
  ]) as Record<string, string>;
  const yarn = new YarnCli(runner, { yarnCommands });
  return {
    steps: { ssh: new SshStepRunner(runner) },
    yarn,
    close: () => {
      yarn.close();
      pool.close();
    },
  };
}
