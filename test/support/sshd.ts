// A real OpenSSH sshd on loopback for the edge-node tests: generated host and client keys, key auth only,
// a known_hosts file for the client. stop()/start() take it down and bring it back on the same port and key.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { HostConfig } from '../../src/config/worker-config.js';
import { freePort } from '../../src/temporal/dev-server.js';
import { tempDir, waitFor } from './harness.js';
import { spawnOwned } from './owned-spawn.js';

export class Sshd {
  private process: ChildProcess | undefined;
  readonly dir = tempDir('sshd');
  readonly port: Promise<number> = freePort();
  readonly clientKey = join(this.dir, 'client_key');
  readonly knownHosts = join(this.dir, 'known_hosts');
  readonly user = userInfo().username;

  async start(): Promise<void> {
    const port = await this.port;
    const config = join(this.dir, 'sshd_config');
    if (!this.process && !readFileSafe(config)) {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(this.dir, 'host_key')]);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.clientKey]);
      writeFileSync(join(this.dir, 'authorized_keys'), readFileSync(`${this.clientKey}.pub`));
      const hostPub = readFileSync(join(this.dir, 'host_key.pub'), 'utf8')
        .trim()
        .split(' ')
        .slice(0, 2)
        .join(' ');
      writeFileSync(this.knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
      writeFileSync(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${join(this.dir, 'host_key')}`,
          `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
          `PidFile ${join(this.dir, 'sshd.pid')}`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PubkeyAuthentication yes',
          'PermitRootLogin prohibit-password',
          'UsePAM no',
          'StrictModes no',
          'MaxSessions 20',
          'MaxStartups 100',
          'LogLevel ERROR',
          // bash sources ~/.bashrc for a command run by sshd only at SHLVL < 2: root's here runs `pyenv init`
          // (~0.1 CPU-s per command), which would weigh more than anything Kappa does on the test edge node.
          'SetEnv SHLVL=1',
        ].join('\n') + '\n',
      );
    }
    mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory
    const child = spawnOwned('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errors = '';
    child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
    this.process = child;
    await waitFor(`sshd on port ${port}${errors ? `: ${errors}` : ''}`, () => canConnect(port), 15_000);
  }

  /** Takes sshd down, the listener and every session it serves, as a crashed or stopped edge node would. */
  async stop(): Promise<void> {
    const child = this.process;
    if (!child) return;
    this.process = undefined;
    try {
      execFileSync('pkill', ['-KILL', '-P', String(child.pid)]);
    } catch {
      // no sessions
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }

  async hostConfig(yarnCommand: string): Promise<HostConfig> {
    return {
      host: '127.0.0.1',
      port: await this.port,
      username: this.user,
      privateKeyPath: this.clientKey,
      knownHostsPath: this.knownHosts,
      yarnCommand,
      yarnTimeout: '60s',
      yarnApi: 'cli',
    };
  }
}

function readFileSafe(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
