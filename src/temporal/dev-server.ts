// Starting and reaching a Temporal dev server (`temporal server start-dev`): used by `kappa dev` and the tests.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { SEARCH_ATTRIBUTE_CLI_TYPES } from '../common/temporal-names.js';

const REPO_ROOT = join(__dirname, '..', '..');

/** The Temporal CLI's path, obtained by scripts/ensure-temporal-cli.sh (which may build it once). */
export function temporalCliPath(): string {
  return execFileSync('bash', [join(REPO_ROOT, 'scripts', 'ensure-temporal-cli.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/**
 * A loopback port that is free now, for a server about to be started on it. Picked at random below the kernel's
 * ephemeral range: a port the kernel hands out (to a bind to 0 or to an outgoing connection) can be taken by another
 * process between this check and the server's bind, which one in a few hundred test runs did.
 */
export async function freePort(): Promise<number> {
  const [low, high] = quietRange();
  for (let tries = 0; tries < 50 && high > low; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canBind(port)) return port;
  }
  return kernelPort();
}

/** Ports outside the ephemeral range and above the well-known ones. */
function quietRange(): [number, number] {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
  } catch {
    // not Linux: the usual range
  }
  return [10_000, Math.min(ephemeralLow, 32768)];
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** The server could not bind a port: another process took it. Starting again on other ports is safe. */
export class PortInUseError extends Error {}

export interface DevServerOptions {
  port: number;
  /** Omit for a headless server. */
  uiPort?: number;
  ip?: string;
  /** Persist to this SQLite file; in memory without it. */
  dbFile?: string;
  namespace?: string;
  dynamicConfig?: Record<string, unknown>;
  /** Where the server's own output goes. */
  logFile?: string;
  /** Own process group, so a terminal's Ctrl-C does not kill the server before the worker has drained. */
  detached?: boolean;
}

export interface DevServer {
  address: string;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(options.port),
    '--namespace',
    namespace,
    '--log-level',
    'warn',
  ];
  if (options.uiPort !== undefined) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  if (options.dbFile) args.push('--db-filename', options.dbFile);
  for (const [key, value] of Object.entries(options.dynamicConfig ?? {})) {
    args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  }
  const child = spawn(temporalCliPath(), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  // The end of its output, to tell why it stopped if it stops before answering.
  let tail = '';
  const keepTail = (chunk: Buffer) => (tail = (tail + chunk.toString()).slice(-8192));
  child.stdout.on('data', keepTail);
  child.stderr.on('data', keepTail);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  if (options.logFile) {
    // Two sources into one file: neither may end it (the other could still write: "write after end"); it ends
    // once both have closed.
    const log = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    void closed.then(() => log.end());
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `${ip}:${options.port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  let gone = false;
  void exited.then(() => (gone = true));
  try {
    await Promise.race([
      // Stops asking once the server is gone, or a failed start would keep `kappa dev` alive for a minute.
      waitForServer(address, 60_000, () => gone),
      exited.then(async () => {
        await Promise.race([closed, new Promise((r) => setTimeout(r, 1_000))]);
        const message = `temporal server start-dev exited early (code ${child.exitCode}); see ${options.logFile ?? 'its output'}`;
        const clash = tail.split('\n').find((line) => line.includes('address already in use'));
        throw clash ? new PortInUseError(`${message}: ${clash.slice(0, 300)}`) : new Error(message);
      }),
    ]);
    await ensureSearchAttributes(address, namespace);
  } catch (err) {
    await stop();
    throw err;
  }
  return { address, namespace, process: child, stop };
}

/** Waits until a Temporal frontend answers at `address`; gives up quietly once `stopped` says so. */
export async function waitForServer(
  address: string,
  timeoutMs: number,
  stopped = () => false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && !stopped()) {
    if (await isServerReachable(address)) return;
    lastError = `no answer from ${address}`;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Temporal server at ${address} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}

export async function isServerReachable(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

const INDEXED_TYPE: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
};

/** Registers Kappa's search attributes where they are missing (idempotent; a persistent server keeps them). */
export async function ensureSearchAttributes(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    const missing = Object.entries(SEARCH_ATTRIBUTE_CLI_TYPES).filter(
      ([name]) => !(name in (existing.customAttributes ?? {})),
    );
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_TYPE[type]!])),
    });
  } finally {
    await connection.close();
  }
}

/**
 * A dev server on a loopback port picked here, picked again (up to `attempts` times) when the server died of a port
 * in use: its own HTTP and metrics ports are random too, and another process may take any of them first.
 */
export async function startDevServerOnFreePort(
  options: Omit<DevServerOptions, 'port'>,
  { attempts = 3, pickPort = freePort }: { attempts?: number; pickPort?: () => Promise<number> } = {},
): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServer({ ...options, port: await pickPort() });
    } catch (err) {
      if (!(err instanceof PortInUseError) || attempt >= attempts) throw err;
    }
  }
}
