// The composition root: the adapters a production worker hands its activities as ports: SSH to the edge nodes, the yarn CLI there (or
// the ResourceManager REST API through them, per host), and the step runners (ssh commands, Kubernetes pods).
import { ApplicationFailure } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import { durationMs } from './common/duration.js';
import { FailureType } from './common/failures.js';
import type { WorkerConfig } from './config/worker-config.js';
import { kubeClients, type KubeClients } from './kubernetes/clients.js';
import { PodStepRunner } from './kubernetes/pod-step-runner.js';
import { KubeServiceSteps } from './kubernetes/service-steps.js';
import type { KappaDeps } from './ports.js';
import { HostCommandRunner } from './ssh/command-runner.js';
import { SshPool } from './ssh/ssh-pool.js';
import { SshStepRunner } from './ssh/ssh-step-runner.js';
import { CurlTransport } from './yarn/rest-transport.js';
import { TunnelTransport } from './yarn/rest-tunnel.js';
import { YarnCli } from './yarn/yarn-cli.js';
import { YarnRest, type RestHost } from './yarn/yarn-rest.js';

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
  const cli = new YarnCli(runner, {
    yarnCommands,
    webUrls,
    commandTimeoutsMs,
    ...(onPoll ? { onPoll } : {}),
  });
  const tunnel = new TunnelTransport((host, target, port) => pool.forwardOut(host, target, port));
  const restHosts: Record<string, RestHost> = {};
  for (const [name, host] of Object.entries(config.hosts)) {
    if (host.yarnApi !== 'rest' || !host.yarnRest) continue;
    const rest = host.yarnRest;
    restHosts[name] = {
      resourceManagers: rest.resourceManagers,
      transport: rest.via === 'tunnel' ? tunnel : new CurlTransport(runner, { negotiate: rest.kerberos }),
      timeoutMs: durationMs(host.yarnTimeout),
      pollIntervalMs: durationMs(rest.pollInterval),
      ...(host.yarnWebUrl ? { webUrl: host.yarnWebUrl } : {}),
    };
  }
  // Hosts with `yarnApi: rest` read YARN through its REST API; every other host, and every kill, the yarn CLI.
  const yarn = new YarnRest(cli, restHosts, onPoll ? { onPoll } : {});
  let kube: KubeClients | undefined;
  const kubeOnce = () => {
    try {
      kube ??= kubeClients();
    } catch (err) {
      throw ApplicationFailure.create({
        type: FailureType.NotConfigured,
        nonRetryable: true,
        message: `no usable kubeconfig for pod and service steps ($KUBECONFIG, ~/.kube/config or in-cluster): ${(err as Error).message}`,
      });
    }
    return kube;
  };
  const pods = new PodStepRunner(kubeOnce, { defaults: config.kubernetes });
  const services = new KubeServiceSteps(kubeOnce, config.kubernetes);
  return {
    steps: { ssh: new SshStepRunner(runner), pod: pods },
    services,
    yarn,
    close: () => {
      services.close();
      yarn.close();
      cli.close();
      pool.close();
    },
  };
}
