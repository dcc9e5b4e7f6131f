// `kappa dev`: a local Temporal dev server (Web UI on :8233) and a worker, in one terminal; on a machine with a JDK
// also the sandbox (src/sandbox/): a local YARN with an example streaming app that the worker keeps alive.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Sandbox, sandboxUnavailable, sandboxWorkerConfig } from '../../sandbox/sandbox.js';
import { runSandboxApp } from '../../sandbox/sandbox-run.js';
import {
  ensureSearchAttributes,
  isServerReachable,
  startDevServer,
  type DevServer,
} from '../../temporal/dev-server.js';
import { runWorker } from '../../worker.js';
import type { CliContext } from '../context.js';
import { lockDevDir } from '../dev-lock.js';
import { CliError, ExitCode } from '../errors.js';

export interface DevOptions {
  uiPort: string;
  /** False with --no-sandbox. */
  sandbox: boolean;
}

const say = (line: string) => console.error(`kappa dev: ${line}`);

export async function devCommand(ctx: CliContext, options: DevOptions): Promise<number> {
  const uiPort = Number(options.uiPort);
  if (!Number.isInteger(uiPort) || uiPort < 1 || uiPort > 65535) {
    throw new CliError(`--ui-port: expected a port number, got "${options.uiPort}"`, ExitCode.usage);
  }
  const settings = ctx.settings;
  const dir = join(process.env.KAPPA_CACHE ?? join(homedir(), '.cache', 'kappa'), 'dev');
  mkdirSync(dir, { recursive: true });
  const reachable = await isServerReachable(settings.address);
  const noJdk = options.sandbox ? sandboxUnavailable() : undefined;
  if (noJdk) say(`no local YARN sandbox: ${noJdk}. Running Temporal and the worker only.`);
  const withSandbox = options.sandbox && !noJdk;
  // Our own server's SQLite file and the sandbox's work dir are this directory's: one kappa dev at a time.
  const unlock = !reachable || withSandbox ? lockDevDir(dir) : undefined;

  // Until the worker runs (and the Temporal runtime takes SIGINT to drain it), Ctrl-C ends the start-up here.
  const stopping = new AbortController();
  let server: DevServer | undefined;
  let firstSignalAt = 0;
  const onSignal = () => {
    if (!stopping.signal.aborted) {
      firstSignalAt = Date.now();
      stopping.abort();
      say('stopping...');
    } else if (Date.now() - firstSignalAt > 1_000) {
      // A second Ctrl-C: no more waiting. The local YARN is killed on exit (LocalYarn); the server here.
      server?.process.kill('SIGKILL');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  // The cluster takes longest to come up: the server and the worker start meanwhile.
  const sandbox = withSandbox ? startSandbox(dir) : Promise.resolve(undefined);
  try {
    if (reachable) await useServer(settings.address, settings.namespace);
    else server = await startServer(dir, settings, uiPort);
    say(
      `Temporal UI at http://localhost:${uiPort}  (Ctrl-C stops the worker${server ? ' and the server' : ''}${withSandbox ? ' and the local YARN' : ''})`,
    );
    if (stopping.signal.aborted) return ExitCode.ok;
    const config = withSandbox ? sandboxWorkerConfig(ctx.workerConfig, dir) : ctx.workerConfig;
    const worker = runWorker(config, settings);
    const app = sandbox.then((box) =>
      box && !stopping.signal.aborted ? runSandboxApp(box, settings, uiPort, stopping.signal) : undefined,
    );
    try {
      await worker;
    } finally {
      stopping.abort();
      await app;
    }
  } finally {
    await (await sandbox)?.stop();
    await server?.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    unlock?.();
  }
  return ExitCode.ok;
}

async function useServer(address: string, namespace: string): Promise<void> {
  say(`using the Temporal server already at ${address}`);
  await ensureSearchAttributes(address, namespace);
}

async function startServer(
  dir: string,
  settings: { address: string; namespace: string },
  uiPort: number,
): Promise<DevServer> {
  const [host, portText] = splitAddress(settings.address);
  if (!['localhost', '127.0.0.1', '::1', '0.0.0.0'].includes(host)) {
    throw new CliError(
      `kappa dev starts a server only on this machine; nothing answers at ${settings.address}`,
    );
  }
  say('starting a Temporal dev server (first run may build the Temporal CLI)...');
  const server = await startDevServer({
    port: Number(portText),
    uiPort,
    namespace: settings.namespace,
    dbFile: join(dir, 'temporal.db'),
    logFile: join(dir, 'temporal.log'),
    detached: true, // Ctrl-C reaches the worker first; the server stops after the worker has drained
  });
  say(`Temporal server on ${server.address}, data in ${join(dir, 'temporal.db')}`);
  return server;
}

/** The sandbox, or undefined (said why) when it cannot start: Temporal and the worker run on without it. */
async function startSandbox(dir: string): Promise<Sandbox | undefined> {
  say('starting the local YARN sandbox (first run fetches and builds Hadoop and Spark, once)...');
  try {
    const sandbox = await Sandbox.start(dir);
    const { yarn } = sandbox;
    say(
      `local YARN up in ${Math.round(yarn.startupMs / 1000)} s: ResourceManager UI ${yarn.webUrl}; the edge node is this host (\`host: local\`), yarn = ${sandbox.yarnCommand}`,
    );
    return sandbox;
  } catch (err) {
    say(`the local YARN sandbox did not start: ${(err as Error).message}. Running without it.`);
    return undefined;
  }
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i < 0) return [address, '7233'];
  return [address.slice(0, i).replace(/^\[|\]$/g, ''), address.slice(i + 1)];
}
