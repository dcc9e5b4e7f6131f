// The workflow's own check of its input. `kappa deploy` sends a validated config, but the Temporal UI's "Start
// Workflow" and `temporal workflow start` send whatever was typed: the same schema as `kappa validate` decides,
// defaults are filled in, and a bad input fails the workflow at once, naming each field, instead of failing
// workflow tasks in a loop.
import { ApplicationFailure } from '@temporalio/workflow';
import { FailureType } from '../common/failures.js';
import { workflowId as appWorkflowId } from '../common/temporal-names.js';
import type { AppConfig } from '../config/app-config.js';
import { formatIssue, type ConfigIssue } from '../config/issues.js';
import type { ValidateConfigResult } from '../activities/types.js';
import { validateAppConfigInline } from './inline-validation.js';
import type { AppWorkflowInput } from './types.js';

/** The input taken apart: the config as sent, whether it came as `{ config }`, and its revision. */
export interface UnwrappedInput {
  raw: unknown;
  wrapped: boolean;
  revision?: number;
}

/**
 * Accepts `{ config, revision? }` (what `kappa deploy` sends) or the config alone, as the YAML reads, written as
 * JSON. Throws a non-retryable InvalidConfig for anything else.
 */
export function unwrapWorkflowInput(input: unknown): UnwrappedInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidInput(
      'expected the app config (as in the YAML file), or { "config": <app config> }, as the first argument',
    );
  }
  const wrapped = 'config' in input;
  const raw = wrapped ? input.config : input;
  const revision = wrapped ? (input as { revision?: unknown }).revision : undefined;
  if (revision !== undefined && !(Number.isInteger(revision) && (revision as number) >= 1)) {
    throw invalidInput(`revision: expected a whole number >= 1, got ${JSON.stringify(revision)}`);
  }
  return { raw, wrapped, ...(revision !== undefined ? { revision: revision as number } : {}) };
}

/**
 * The validation's answer made the workflow's input: the config validated and defaulted, or a non-retryable
 * InvalidConfig naming each field as the sender wrote it.
 */
export function checkedWorkflowInput(
  result: ValidateConfigResult,
  { wrapped, revision }: UnwrappedInput,
  workflowId: string,
): AppWorkflowInput {
  if (!result.ok) {
    const where = (issue: ConfigIssue) => (wrapped ? { ...issue, path: ['config', ...issue.path] } : issue);
    throw invalidInput(result.issues.map((issue) => formatIssue(where(issue))).join('\n'));
  }
  checkWorkflowId(result.config, workflowId);
  return { config: result.config, ...(revision !== undefined ? { revision } : {}) };
}

/**
 * The whole check inside the workflow: how runs recorded before the check moved into an activity replay. A bare
 * config is one written by hand (the UI, `temporal workflow start`): it gets the minimums `kappa validate` applies
 * too. `kappa deploy` sends `{ config }` after checking them itself.
 */
export function checkWorkflowInput(input: unknown, workflowId: string): AppWorkflowInput {
  const unwrapped = unwrapWorkflowInput(input);
  const result = validateAppConfigInline(unwrapped.raw, { minimums: !unwrapped.wrapped });
  return checkedWorkflowInput(result, unwrapped, workflowId);
}

/** One workflow per app: its id is `kappa/<name>` (a scheduled BatchJob run's has the run's time appended). */
function checkWorkflowId(config: AppConfig, workflowId: string): void {
  const expected = appWorkflowId(config.metadata.name);
  const scheduledRun = config.kind === 'BatchJob' && workflowId.startsWith(`${expected}-`);
  if (workflowId !== expected && !scheduledRun) {
    throw invalidInput(
      `workflow id "${workflowId}" does not match metadata.name "${config.metadata.name}": start it as "${expected}", so there is one workflow per app`,
    );
  }
}

function invalidInput(message: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: FailureType.InvalidConfig,
    nonRetryable: true,
    message: `invalid workflow input: ${message}`,
  });
}
