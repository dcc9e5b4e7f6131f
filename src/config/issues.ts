// Config problems as `path: message`, the form every Kappa error about a config takes.
import type { z } from 'zod';

export type ConfigPath = readonly (string | number)[];

export interface ConfigIssue {
  path: ConfigPath;
  message: string;
  /** Point at the key itself rather than its value (unknown keys). */
  atKey?: boolean;
}

/** `['spec', 'steps', 0, 'name']` -> `spec.steps[0].name`. */
export function formatPath(path: ConfigPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out === '' ? '(top level)' : out;
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path.length === 0 ? issue.message : `${formatPath(issue.path)}: ${issue.message}`;
}

/** Turns zod's issues into Kappa's wording: short, and saying what was expected. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) out.push({ path: [...path, key], message: 'unknown key', atKey: true });
        break;
      case 'invalid_type':
        out.push({
          path,
          message: /received undefined$/.test(issue.message)
            ? `required (expected ${issue.expected})`
            : issue.message.replace(/^Invalid input: /, ''),
        });
        break;
      case 'too_small':
        out.push({ path, message: tooSmall(issue) });
        break;
      case 'too_big':
        out.push({ path, message: issue.message.replace(/^Too big: /, '') });
        break;
      case 'invalid_value':
        out.push({ path, message: `expected ${issue.values.map((v) => JSON.stringify(v)).join(' | ')}` });
        break;
      case 'invalid_union':
        out.push({
          path,
          message:
            'options' in issue && Array.isArray(issue.options)
              ? `expected ${issue.options.map((v) => JSON.stringify(v)).join(' | ')}`
              : unionMismatch(issue),
        });
        break;
      case 'invalid_key': {
        const inner = issue.issues[0]?.message ?? issue.message;
        out.push({ path, message: `invalid key: ${inner}`, atKey: true });
        break;
      }
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

/** A value that fits none of a union's types (`cpu: .inf`): what the types are, and what it is. */
function unionMismatch(issue: z.core.$ZodIssueInvalidUnion): string {
  const firsts = issue.errors.map((branch) => branch[0]);
  const types = firsts.filter(
    (i): i is z.core.$ZodIssueInvalidType => i?.code === 'invalid_type' && i.path.length === 0,
  );
  if (types.length > 0 && types.length === firsts.length) {
    const received = /received (.+)$/.exec(types[0]!.message)?.[1];
    const expected = [...new Set(types.map((t) => t.expected))].join(' or ');
    return `expected ${expected}${received ? `, received ${received}` : ''}`;
  }
  return firsts[0]?.message.replace(/^Invalid input: /, '') ?? 'not an allowed value';
}

function tooSmall(issue: z.core.$ZodIssueTooSmall): string {
  const min = Number(issue.minimum);
  switch (issue.origin) {
    case 'number':
    case 'int':
      return `expected number ${issue.inclusive ? '>=' : '>'} ${min}`;
    case 'array':
      return issue.message.startsWith('Too small')
        ? `expected at least ${min} item${min === 1 ? '' : 's'}`
        : issue.message;
    case 'string':
      return issue.message.startsWith('Too small')
        ? `expected at least ${min} character${min === 1 ? '' : 's'}`
        : issue.message;
    default:
      return issue.message;
  }
}
