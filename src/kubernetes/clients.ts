// Kubernetes clients from a kubeconfig ($KUBECONFIG, ~/.kube/config or in-cluster), built on first use so a
// worker without Kubernetes still runs its ssh steps.
import type { Writable } from 'node:stream';
import { CoreV1Api, KubeConfig, Log, Watch } from '@kubernetes/client-node';

export interface KubeClients {
  config: KubeConfig;
  core: CoreV1Api;
  /** The client library's Watch and Log, built on `config`. */
  watch(
    path: string,
    query: Record<string, string | boolean>,
    onEvent: (type: string, obj: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<AbortController>;
  log(namespace: string, pod: string, container: string, out: Writable): Promise<AbortController>;
}

export function kubeClients(kubeconfigPath?: string): KubeClients {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  const watch = new Watch(config);
  const log = new Log(config);
  return {
    config,
    core: config.makeApiClient(CoreV1Api),
    watch: (path, query, onEvent, onDone) => watch.watch(path, query, onEvent, onDone),
    log: (namespace, pod, container, out) => log.log(namespace, pod, container, out, { follow: true }),
  };
}
