// SSH to edge nodes on ssh2: one connection per host, shared by many channels, kept alive, reconnected with
// backoff. Host keys are always checked against known_hosts; an unknown or changed key is refused.
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { expandHome, type HostConfig } from '../config/worker-config.js';
import {
  HostUnreachableError,
  KILL_GRACE_MS,
  OutputBuffer,
  type CommandOptions,
  type CommandResult,
  type CommandRunner,
  watchCommand,
} from './command-runner.js';
import { checkHostKey, fingerprint, knownKeyTypes, parseKnownHosts } from './known-hosts.js';
import { remoteWrapper, takePidMarker } from './remote-wrapper.js';

export interface SshPoolOptions {
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Channels open at once per connection; OpenSSH's MaxSessions defaults to 10. */
  maxChannels?: number;
  /** Passphrases come from the environment: KAPPA_SSH_PASSPHRASE_<HOST> or KAPPA_SSH_PASSPHRASE. */
  env?: NodeJS.ProcessEnv;
  /**
   * Told once per host and offered key when a host key is refused (unknown or changed): the moment an operator most
   * needs a loud, precise message. Retries of the same refusal are not told again.
   */
  onHostKeyRefused?: (message: string, fields: { host: string; file: string; fingerprint: string }) => void;
}

export class SshPool implements CommandRunner {
  private readonly hosts = new Map<string, SshHost>();
  private closed = false;

  constructor(
    private readonly configs: Record<string, HostConfig>,
    private readonly options: SshPoolOptions = {},
  ) {}

  run(host: string, command: string, options: CommandOptions): Promise<CommandResult> {
    if (this.closed) return Promise.reject(new HostUnreachableError(`${host}: the SSH pool is closed`));
    return this.host(host).run(command, options);
  }

  /**
   * A TCP connection from `host` to `target` (`host:port` as that host resolves it), carried over the host's SSH
   * connection (a `direct-tcpip` channel; sshd needs AllowTcpForwarding). Nothing runs on the host. Rejects with
   * HostUnreachableError when the host cannot be reached, with a plain Error when its sshd cannot open the
   * connection (refused there, or forwarding not allowed).
   */
  forwardOut(host: string, targetHost: string, targetPort: number): Promise<Duplex> {
    if (this.closed) return Promise.reject(new HostUnreachableError(`${host}: the SSH pool is closed`));
    return this.host(host).forwardOut(targetHost, targetPort);
  }

  /** Open connections (for tests and metrics). */
  connectionCount(): number {
    return [...this.hosts.values()].filter((h) => h.connected).length;
  }

  close(): void {
    this.closed = true;
    for (const host of this.hosts.values()) host.close();
  }

  private host(name: string): SshHost {
    let host = this.hosts.get(name);
    if (!host) {
      const config = this.configs[name];
      if (!config) throw new HostUnreachableError(`no host "${name}" in the worker config`);
      host = new SshHost(name, config, this.options);
      this.hosts.set(name, host);
    }
    return host;
  }
}

class SshHost {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError: Error | undefined;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  /** Refused host keys already told (fingerprints), so a retry loop does not flood the log. */
  private readonly refusalsTold = new Set<string>();

  constructor(
    private readonly name: string,
    private readonly config: HostConfig,
    private readonly options: SshPoolOptions,
  ) {}

  get connected(): boolean {
    return this.client !== undefined;
  }

  close(): void {
    this.client?.end();
    this.client = undefined;
  }

  async run(command: string, options: CommandOptions): Promise<CommandResult> {
    await this.acquire();
    try {
      const client = await this.connection();
      return await this.exec(client, command, options);
    } finally {
      this.release();
    }
  }

  async forwardOut(targetHost: string, targetPort: number): Promise<Duplex> {
    await this.acquire();
    let channel: ClientChannel;
    try {
      const client = await this.connection();
      channel = await new Promise<ClientChannel>((resolve, reject) => {
        const opened = (err: (Error & { reason?: unknown }) | undefined, stream: ClientChannel) => {
          if (!err) return resolve(stream);
          // A refusal carries the SSH reason code; anything else is the connection failing under us.
          if (err.reason !== undefined && err.reason !== '') return reject(new Error(err.message));
          this.client = undefined;
          client.end();
          reject(new HostUnreachableError(`${this.name}: ${err.message}`));
        };
        try {
          client.forwardOut('127.0.0.1', 0, targetHost, targetPort, opened);
        } catch (err) {
          opened(err as Error, undefined as never);
        }
      });
    } catch (err) {
      this.release();
      throw err;
    }
    channel.once('close', () => this.release()); // the channel holds its slot until it closes
    return channel;
  }

  private acquire(): Promise<void> {
    if (this.active < (this.options.maxChannels ?? 8)) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private connection(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    if (this.connecting) return this.connecting;
    if (Date.now() < this.retryAt) {
      const seconds = Math.ceil((this.retryAt - Date.now()) / 1000);
      return Promise.reject(
        new HostUnreachableError(`${this.lastError?.message ?? 'unreachable'} (next attempt in ${seconds}s)`),
      );
    }
    this.connecting = this.connect().then(
      (client) => {
        this.failures = 0;
        this.client = client;
        this.connecting = undefined;
        return client;
      },
      (err: Error) => {
        this.failures++;
        // Back off so a down host is not hammered by every caller: 1s, 2s, 4s … 30s.
        this.retryAt = Date.now() + Math.min(1_000 * 2 ** (this.failures - 1), 30_000);
        this.lastError = err;
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  private connect(): Promise<Client> {
    const { config, options } = this;
    const env = options.env ?? process.env;
    const label = `${config.username}@${config.host}:${config.port} (${this.name})`;
    let knownHostsText: string;
    let privateKey: Buffer;
    try {
      knownHostsText = readFileSync(expandHome(config.knownHostsPath), 'utf8');
    } catch (err) {
      return Promise.reject(
        new HostUnreachableError(
          `${label}: cannot read known_hosts ${config.knownHostsPath}: ${(err as Error).message}`,
        ),
      );
    }
    try {
      privateKey = readFileSync(expandHome(config.privateKeyPath));
    } catch (err) {
      return Promise.reject(
        new HostUnreachableError(
          `${label}: cannot read private key ${config.privateKeyPath}: ${(err as Error).message}`,
        ),
      );
    }
    const entries = parseKnownHosts(knownHostsText);
    const hostKeyTypes = knownKeyTypes(entries, config.host, config.port);
    const passphrase =
      env[`KAPPA_SSH_PASSPHRASE_${this.name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] ??
      env.KAPPA_SSH_PASSPHRASE;
    let refusal: string | undefined;

    return new Promise((resolve, reject) => {
      const client = new Client();
      const connectConfig: ConnectConfig = {
        host: config.host,
        port: config.port,
        username: config.username,
        privateKey,
        ...(passphrase ? { passphrase } : {}),
        readyTimeout: options.connectTimeoutMs ?? 20_000,
        keepaliveInterval: options.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: 3,
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(entries, config.host, config.port, key, config.knownHostsPath);
          if (!verdict.ok) {
            refusal = verdict.message;
            const print = fingerprint(key);
            if (!this.refusalsTold.has(print)) {
              this.refusalsTold.add(print);
              this.options.onHostKeyRefused?.(`${label}: ${verdict.message}`, {
                host: `${config.host}:${config.port}`,
                file: config.knownHostsPath,
                fingerprint: print,
              });
            }
          }
          return verdict.ok;
        },
        // Ask for a key type known_hosts has, so a host with several keys is checked against the one we know.
        ...(hostKeyTypes.length > 0 ? { algorithms: { serverHostKey: hostKeyTypes as never } } : {}),
      };
      client.once('ready', () => {
        client.removeAllListeners('error');
        client.on('error', () => undefined); // reported through 'close' and the failing channel
        client.once('close', () => {
          if (this.client === client) this.client = undefined;
        });
        resolve(client);
      });
      client.on('error', (err: Error) => {
        // ssh2 may report more than once (a timeout, then the lost connection); the first one counts.
        client.end();
        reject(new HostUnreachableError(`${label}: ${refusal ?? err.message}`));
      });
      try {
        client.connect(connectConfig);
      } catch (err) {
        // A key that cannot be parsed or decrypted is reported here, before any network traffic.
        const hint = passphrase
          ? ''
          : ' (for an encrypted key set KAPPA_SSH_PASSPHRASE or KAPPA_SSH_PASSPHRASE_<HOST>)';
        reject(
          new HostUnreachableError(
            `${label}: private key ${config.privateKeyPath}: ${(err as Error).message}${hint}`,
          ),
        );
      }
    });
  }

  private exec(client: Client, command: string, options: CommandOptions): Promise<CommandResult> {
    // The channel's stdin stays open and silent until the session ends (never `channel.end()`): its closing is
    // what tells the remote watchdog that the connection dropped (see remote-wrapper.ts).
    return new Promise((resolve, reject) => {
      client.exec(remoteWrapper(command, KILL_GRACE_MS), (err, channel: ClientChannel) => {
        if (err) {
          this.client = undefined;
          client.end();
          reject(new HostUnreachableError(`${this.name}: ${err.message}`));
          return;
        }
        const stdout = new OutputBuffer();
        const stderr = new OutputBuffer();
        let pgid: string | undefined;
        let stderrHead = '';
        let code: number | null = null;
        let failure: Error | undefined;

        const killRemote = (signal: 'TERM' | 'KILL') => {
          if (!pgid) return;
          try {
            client.exec(`kill -${signal} -- -${pgid} 2>/dev/null || true`, (e, s) => {
              if (!e) s.resume().on('close', () => undefined);
            });
          } catch {
            // the connection is gone, and with it the session
          }
        };
        let graceTimer: NodeJS.Timeout | undefined;
        const stop = (error: Error) => {
          if (failure) return;
          failure = error;
          try {
            channel.signal('TERM');
          } catch {
            // the channel may be gone already
          }
          killRemote('TERM');
          graceTimer = setTimeout(() => {
            killRemote('KILL');
            channel.close();
          }, KILL_GRACE_MS);
          graceTimer.unref();
        };
        const unwatch = watchCommand(options, stop);

        channel.setEncoding('utf8');
        channel.stderr.setEncoding('utf8');
        channel.on('data', (text: string) => {
          stdout.push(text);
          options.onOutput?.('stdout', text);
        });
        channel.stderr.on('data', (text: string) => {
          if (pgid === undefined) {
            const marker = takePidMarker((stderrHead += text));
            if (!marker) return;
            ({ pgid, rest: text } = marker);
            if (failure) killRemote('TERM');
            if (text === '') return;
          }
          stderr.push(text);
          options.onOutput?.('stderr', text);
        });
        let exited = false;
        channel.on('exit', (exitCode: number | null) => {
          exited = true;
          code = exitCode;
        });
        channel.on('close', () => {
          unwatch();
          clearTimeout(graceTimer); // the session ended: nothing left to kill
          if (failure) reject(failure);
          else if (!exited)
            reject(new HostUnreachableError(`${this.name}: connection lost while the command ran`));
          else resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
        });
      });
    });
  }
}
