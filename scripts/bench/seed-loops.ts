// The seed's supervision, the design Kappa replaces (Airflow DAGs rendered per app, published as "Streaming ML
// CI/CD in a few days"): after spark-submit, an SSH operator per app holds one SSH session to the edge node that
// runs this shell loop until the app leaves RUNNING/ACCEPTED, and the DAG then restarts the app:
//   while yarn application -list | grep NAME | grep -e RUNNING -e ACCEPTED; do sleep 10; done && exit 1
// Here it runs as it did, but with the benchmark's counting `yarn` wrapper first on the session's PATH.
import { spawn, type ChildProcess } from 'node:child_process';
import type { HostConfig } from '../../src/config/worker-config.js';

/** The seed's line for one app, as its SSH operator sent it. */
export function seedLoop(appName: string, yarnDir: string, intervalSeconds = 10): string {
  return (
    `PATH=${yarnDir}:$PATH; ` +
    `while yarn application -list | grep ${appName} | grep -e RUNNING -e ACCEPTED; do sleep ${intervalSeconds}; done && exit 1 > /dev/null 2>&1`
  );
}

export class SeedLoops {
  private readonly sessions: ChildProcess[] = [];

  constructor(private readonly host: HostConfig) {}

  /** Opens one session per app (the OpenSSH client, as Airflow's SSH operator opens one per task). */
  start(appNames: string[], yarnDir: string): void {
    for (const name of appNames) {
      const session = spawn(
        'ssh',
        [
          '-T',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          `UserKnownHostsFile=${this.host.knownHostsPath}`,
          '-i',
          this.host.privateKeyPath,
          '-p',
          String(this.host.port),
          `${this.host.username}@${this.host.host}`,
          seedLoop(name, yarnDir),
        ],
        { stdio: ['ignore', 'ignore', 'ignore'] },
      );
      this.sessions.push(session);
    }
  }

  /** Sessions whose loop ended (the app was not RUNNING or ACCEPTED, or the session failed). */
  get ended(): number {
    return this.sessions.filter((s) => s.exitCode !== null || s.signalCode !== null).length;
  }

  /** Closes every session: sshd hangs up the loop on the edge node. */
  async stop(): Promise<void> {
    const open = this.sessions.filter((s) => s.exitCode === null && s.signalCode === null);
    const closed = open.map((s) => new Promise((r) => s.once('exit', r)));
    for (const s of open) s.kill('SIGTERM');
    await Promise.all(closed);
    this.sessions.length = 0;
  }
}
