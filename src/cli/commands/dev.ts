// `kappa dev`: a local Temporal dev server (Web UI on :8233) plus a worker, in one terminal.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  ensureSearchAttributes,
  isServerReachable,
  startDevServer,
  type DevServer,
} from '../../temporal/dev-server.js';
import { runWorker } from '../../worker.js';
import type { CliContext } from '../context.js';
import { CliError, ExitCode } from '../errors.js';

export async function devCommand(ctx: CliContext, options: { uiPort: string }): Promise<number> {
  const uiPort = Number(options.uiPort);
  if (!Number.isInteger(uiPort) || uiPort < 1 || uiPort > 65535) {
    throw new CliError(`--ui-port: expected a port number, got "${options.uiPort}"`, ExitCode.usage);
  }
  const settings = ctx.settings;
  const [host, portText] = splitAddress(settings.address);
  let server: DevServer | undefined;
  if (await isServerReachable(settings.address)) {
    console.error(`kappa dev: using the Temporal server already at ${settings.address}`);
    await ensureSearchAttributes(settings.address, settings.namespace);
  } else {
    if (!['localhost', '127.0.0.1', '::1', '0.0.0.0'].includes(host)) {
      throw new CliError(
        `kappa dev starts a server only on this machine; nothing answers at ${settings.address}`,
      );
    }
    const dir = join(process.env.KAPPA_CACHE ?? join(homedir(), '.cache', 'kappa'), 'dev');
    mkdirSync(dir, { recursive: true });
    console.error('kappa dev: starting a Temporal dev server (first run may build the Temporal CLI)...');
    server = await startDevServer({
      port: Number(portText),
      uiPort,
      namespace: settings.namespace,
      dbFile: join(dir, 'temporal.db'),
      logFile: join(dir, 'temporal.log'),
      detached: true, // Ctrl-C reaches the worker first; the server stops after the worker has drained
    });
    console.error(`kappa dev: Temporal server on ${server.address}, data in ${join(dir, 'temporal.db')}`);
  }
  console.error(
    `kappa dev: Temporal UI at http://localhost:${uiPort}  (Ctrl-C stops the worker${server ? ' and the server' : ''})`,
  );
  try {
    await runWorker(ctx.workerConfig, settings);
  } finally {
    await server?.stop();
  }
  return ExitCode.ok;
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i < 0) return [address, '7233'];
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), address.slice(i + 1)];
}
