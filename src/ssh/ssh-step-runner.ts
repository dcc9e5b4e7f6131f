// The `ssh` step: a command on an edge node (or `local`), output streamed to the worker log, a bounded tail
// kept, and a non-zero exit turned into a StepFailed failure carrying that code.
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { SshStep } from '../config/app-config.js';
import type { StepContext, StepRunner } from '../ports.js';
import { parseSparkSubmitAppId } from '../yarn/parse.js';
import type { CommandRunner } from './command-runner.js';
import { remoteCommand } from './remote-command.js';

/** Characters of output kept in a step's result or failure. */
export const OUTPUT_TAIL_CHARS = 4_000;

export class SshStepRunner implements StepRunner<SshStep> {
  constructor(private readonly runner: CommandRunner) {}

  async run(step: SshStep, ctx: StepContext) {
    const command = remoteCommand(step);
    let tail = '';
    let partial = { stdout: '', stderr: '' };
    const result = await this.runner.run(step.host, command, {
      timeoutMs: durationMs(step.timeout) + 5_000, // the activity's own timeout fires first, with a clearer error
      signal: ctx.signal,
      onOutput: (stream, text) => {
        tail = (tail + text).slice(-OUTPUT_TAIL_CHARS);
        // Whole lines to the worker log, as they come.
        const lines = (partial[stream] + text).split('\n');
        partial = { ...partial, [stream]: lines.pop() ?? '' };
        for (const line of lines) ctx.log(line, { stream, host: step.host });
      },
    });
    for (const stream of ['stdout', 'stderr'] as const)
      if (partial[stream]) ctx.log(partial[stream], { stream, host: step.host });
    if (result.code !== 0) {
      const how = result.code === null ? 'was killed by a signal' : `exited with code ${result.code}`;
      throw ApplicationFailure.create({
        type: FailureType.StepFailed,
        nonRetryable: true,
        message: `step "${ctx.stepName}" on ${step.host} ${how}${tail ? `; output ends:\n${tail.trimEnd().split('\n').slice(-10).join('\n')}` : ''}`,
        details: [{ exitCode: result.code, outputTail: tail }],
      });
    }
    const yarnAppId = parseSparkSubmitAppId(result.stdout + '\n' + result.stderr);
    return yarnAppId ? { yarnAppId, outputTail: tail } : { outputTail: tail };
  }
}
