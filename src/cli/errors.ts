// Exit codes (docs/cli.md) and the one error type commands throw to choose one.

export const ExitCode = {
  ok: 0,
  failed: 1,
  /** Usage or config errors. */
  usage: 2,
  timedOut: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
