// The composition root: the adapters a production worker hands its activities as ports: SSH to the edge nodes, the yarn CLI there, and the
// step runners (ssh commands, Kubernetes pods).
import { ApplicationFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { durationMs } from './common/duration.js';
import { FailureType } from './common/failures.js';
import type { WorkerConfig } from './config/worker-config.js';
import { kubeClients, type KubeClients } from './kubernetes/clients.js';
import { PodStepRunner } from './kubernetes/pod-step-runner.js';
import type { KappaDeps } from './ports.js';
import { HostCommandRunner } from './ssh/command-runner.js';
import { SshPool } from './ssh/ssh-pool.js';
import { SshStepRunner } from './ssh/ssh-step-runner.js';
import { YarnCli } from './yarn/yarn-cli.js';

export function productionDeps(
  config: WorkerConfig,
  onPoll?: (host: string, seconds: number, ok: boolean) => void,
): KappaDeps & { close(): void } {
  const pool = new SshPool(config.hosts, {
    // Once per host and key, at ERROR: a refused host key stops every poll and step on that host.
    onHostKeyRefused: (message, fields) => {
      Runtime.instance().logger.error(`SSH host key refused: ${message}`, {
        ...fields,
        event: 'hostKeyRefused',
      });
    },
  });
  const runner = new HostCommandRunner(pool);
  const yarnCommands = Object.fromEntries([
    ['local', config.local.yarnCommand],
    ...Object.entries(config.hosts).map(([name, host]) => [name, host.yarnCommand]),
  ]) as Record<string, string>;
  const webUrls = Object.fromEntries(
    Object.entries(config.hosts).flatMap(([name, host]) =>
      host.yarnWebUrl ? [[name, host.yarnWebUrl]] : [],
    ),
  ) as Record<string, string>;
  const commandTimeoutsMs = Object.fromEntries(
    Object.entries(config.hosts).map(([name, host]) => [name, durationMs(host.yarnTimeout)]),
  ) as Record<string, number>;
  const yarn = new YarnCli(runner, {
    yarnCommands,
    webUrls,
    commandTimeoutsMs,
    ...(onPoll ? { onPoll } : {}),
  });
  let kube: KubeClients | undefined;
  const pods = new PodStepRunner(
    () => {
      try {
        kube ??= kubeClients();
      } catch (err) {
        throw ApplicationFailure.create({
          type: FailureType.NotConfigured,
          nonRetryable: true,
          message: `no usable kubeconfig for pod steps ($KUBECONFIG, ~/.kube/config or in-cluster): ${(err as Error).message}`,
        });
      }
      return kube;
    },
    { defaults: config.kubernetes },
  );
  return {
    steps: { ssh: new SshStepRunner(runner), pod: pods },
    yarn,
    close: () => {
      yarn.close();
      pool.close();
    },
  };
}
