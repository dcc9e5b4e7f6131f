// The `ssh` step: a command on an edge node (or `local`), output streamed to the worker log, a bounded tail
// kept, and a non-zero exit turned into a StepFailed failure carrying that code.
import { ApplicationFailure } from '@temporalio/common';
import { durationMs } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import { LineSplitter, OutputTail, outputEnding } from '../common/output.js';
import type { SshStep } from '../config/app-config.js';
import type { StepContext, StepRunner } from '../ports.js';
import { parseSparkSubmitAppId } from '../yarn/parse.js';
import type { CommandRunner } from './command-runner.js';
import { remoteCommand } from './remote-command.js';

export class SshStepRunner implements StepRunner<SshStep> {
  constructor(private readonly runner: CommandRunner) {}

  async run(step: SshStep, ctx: StepContext) {
    const command = remoteCommand(step);
    const tail = new OutputTail();
    // Whole lines to the worker log, as they come.
    const lines = {
      stdout: new LineSplitter((line) => ctx.log(line, { stream: 'stdout', host: step.host })),
      stderr: new LineSplitter((line) => ctx.log(line, { stream: 'stderr', host: step.host })),
    };
    const result = await this.runner.run(step.host, command, {
      timeoutMs: durationMs(step.timeout) + 5_000, // the activity's own timeout fires first, with a clearer error
      signal: ctx.signal,
      onOutput: (stream, text) => {
        tail.append(text);
        lines[stream].push(text);
      },
    });
    lines.stdout.flush();
    lines.stderr.flush();
    const outputTail = tail.toString();
    if (result.code !== 0) {
      const how = result.code === null ? 'was killed by a signal' : `exited with code ${result.code}`;
      throw ApplicationFailure.create({
        type: FailureType.StepFailed,
        nonRetryable: true,
        message: `step "${ctx.stepName}" on ${step.host} ${how}${outputEnding('output ends', outputTail, `${result.stdout}\n${result.stderr}`)}`,
        details: [{ exitCode: result.code, outputTail }],
      });
    }
    const yarnAppId = parseSparkSubmitAppId(result.stdout + '\n' + result.stderr);
    return yarnAppId ? { yarnAppId, outputTail } : { outputTail };
  }
}
