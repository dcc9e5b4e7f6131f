// The shell command line an ssh step runs: argv quoted element by element, or the script under `sh -e`.
import type { SshStep } from '../config/app-config.js';
import { shellJoin } from '../common/shell-quote.js';

export function remoteCommand(ssh: Pick<SshStep, 'command' | 'script' | 'env'>): string {
  const env = Object.entries(ssh.env ?? {}).map(([k, v]) => `${k}=${v}`);
  const argv = ssh.command ?? ['sh', '-e', '-c', ssh.script ?? ''];
  return env.length > 0 ? shellJoin(['env', ...env, ...argv]) : shellJoin(argv);
}
