// Running shell command lines on a host: over SSH (one pooled connection per host) or, for `local`, on the
// worker's own host. Either way a cancelled or timed-out command takes its whole process group down, and so does
// the end of the worker process (see remote-wrapper.ts).
import { spawn } from 'node:child_process';
import { withWatchdog } from './remote-wrapper.js';

export interface CommandOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called with each chunk of output as it arrives. */
  onOutput?: (stream: 'stdout' | 'stderr', text: string) => void;
}

export interface CommandResult {
  /** The exit code; null when the process died of a signal. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  run(host: string, command: string, options: CommandOptions): Promise<CommandResult>;
}

/** The host could not be reached or the session failed: nothing is known about the command. */
export class HostUnreachableError extends Error {
  override name = 'HostUnreachableError';
}

export class CommandTimeoutError extends Error {
  override name = 'CommandTimeoutError';
}

/** Output kept in memory per stream; more than this is a runaway command. */
export const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

/** Seconds between SIGTERM and SIGKILL for a cancelled command. */
export const KILL_GRACE_MS = 5_000;

/** Collects a stream's text with a hard cap. */
export class OutputBuffer {
  private chunks: string[] = [];
  private size = 0;
  private truncated = false;
  push(text: string): void {
    if (this.size >= MAX_OUTPUT_BYTES) {
      this.truncated = true;
      return;
    }
    this.chunks.push(text);
    this.size += text.length;
  }
  toString(): string {
    return (
      this.chunks.join('') + (this.truncated ? `\n[output past ${MAX_OUTPUT_BYTES} bytes dropped]\n` : '')
    );
  }
}

/**
 * Calls `stop` once when the command times out or its signal aborts, with the error to report.
 * Returns the clean-up to run when the command has ended.
 */
export function watchCommand(options: CommandOptions, stop: (error: Error) => void): () => void {
  const timer = setTimeout(
    () => stop(new CommandTimeoutError(`timed out after ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const onAbort = () =>
    stop(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  return () => {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onAbort);
  };
}

/**
 * Runs commands with `sh -c` on this host, each in its own process group, under the watchdog of
 * remote-wrapper.ts: its stdin is a pipe from this process that nothing writes to, closed once the command has
 * exited, or by the kernel when this process dies, and then the group is ended if the command still runs.
 */
export class LocalCommandRunner implements CommandRunner {
  run(_host: string, command: string, options: CommandOptions): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', withWatchdog(command, KILL_GRACE_MS)], {
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdin.on('error', () => undefined); // never written to
      child.once('exit', () => child.stdin.destroy()); // reaped: the watchdog may go
      const stdout = new OutputBuffer();
      const stderr = new OutputBuffer();
      let failure: Error | undefined;
      const killGroup = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // already gone
        }
      };
      const stop = (error: Error) => {
        if (failure) return;
        failure = error;
        killGroup('SIGTERM');
        setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS).unref();
      };
      const unwatch = watchCommand(options, stop);
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        stdout.push(text);
        options.onOutput?.('stdout', text);
      });
      child.stderr.setEncoding('utf8').on('data', (text: string) => {
        stderr.push(text);
        options.onOutput?.('stderr', text);
      });
      child.once('error', (err) => stop(err));
      child.once('close', (code) => {
        unwatch();
        if (failure) reject(failure);
        else resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      });
    });
  }
}

/** Sends `local` to the local runner and every other host to SSH. */
export class HostCommandRunner implements CommandRunner {
  constructor(
    private readonly ssh: CommandRunner,
    private readonly local: CommandRunner = new LocalCommandRunner(),
  ) {}
  run(host: string, command: string, options: CommandOptions): Promise<CommandResult> {
    return (host === 'local' ? this.local : this.ssh).run(host, command, options);
  }
}
