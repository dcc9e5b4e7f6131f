// Option values parsed once, where commander reads them: a bad value is a usage error (exit 2) before any
// command runs.
import { InvalidArgumentError, Option } from 'commander';
import { formatDuration, parseDuration } from '../common/duration.js';
import { MAX_TIMER_MS } from '../config/fields.js';

/** A `--timeout` as typed (for messages) and in milliseconds. */
export interface Timeout {
  text: string;
  ms: number;
}

export function parseTimeout(text: string): Timeout {
  const ms = parseDuration(text);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration such as 10m');
  if (ms === 0) throw new InvalidArgumentError('must be longer than 0s');
  // Node's timers overflow past this and fire at once.
  if (ms >= MAX_TIMER_MS) throw new InvalidArgumentError(`must be under ${formatDuration(MAX_TIMER_MS)}`);
  return { text, ms };
}

/** `--timeout <duration>`, parsed to a Timeout. */
export function timeoutOption(description: string, defaultText: string): Option {
  return new Option('--timeout <duration>', description)
    .argParser(parseTimeout)
    .default(parseTimeout(defaultText), defaultText);
}
