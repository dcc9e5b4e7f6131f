// What the CLI tests on an edge node start with: a real sshd (`edge-1`) with the yarn double, a real Temporal dev
// server, a worker with the production adapters in this process, a client, the worker config written to a file
// for `bin/kappa --worker-config`, and `kappa(...)` to run the CLI with it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { stringify } from 'yaml';
import { workerConfigSchema } from '../../src/config/worker-config.js';
import { productionDeps } from '../../src/production-deps.js';
import type { DevServer } from '../../src/temporal/dev-server.js';
import { connectClient, startServer, startWorker, tempDir } from './harness.js';
import { runKappa, type Ran } from './kappa-cli.js';
import { Sshd } from './sshd.js';
import { YarnDouble } from './yarn-double.js';

export interface EdgeBed {
  sshd: Sshd;
  server: DevServer;
  client: Client;
  double: YarnDouble;
  /** The worker config file the CLI is given. */
  configFile: string;
  kappa(...args: string[]): Promise<Ran>;
  close(): Promise<void>;
}

/** Starts it all; `worker` adds to the worker config (the Kubernetes defaults of a pod-step test, say). */
export async function startEdgeBed(worker: Record<string, unknown> = {}): Promise<EdgeBed> {
  const sshd = new Sshd();
  await sshd.start();
  const server = await startServer();
  const { client, close: closeClient } = await connectClient(server);
  const double = new YarnDouble(tempDir('edge-bed-double'));
  const config = workerConfigSchema.parse({
    temporal: { address: server.address },
    hosts: { 'edge-1': await sshd.hostConfig(double.yarn) },
    ...worker,
  });
  const configFile = join(tempDir('edge-bed-config'), 'worker.yaml');
  writeFileSync(configFile, stringify(config));
  const deps = productionDeps(config);
  const running = await startWorker(server, deps);
  return {
    sshd,
    server,
    client,
    double,
    configFile,
    kappa: (...args) => runKappa(['--worker-config', configFile, ...args]),
    close: async () => {
      await closeClient();
      await running.stop();
      deps.close();
      await server.stop();
      await sshd.stop();
    },
  };
}
