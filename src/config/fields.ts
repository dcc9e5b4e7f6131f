// Field schemas shared by the app and worker configs.
import { z } from 'zod';
import { durationMs, parseDuration } from '../common/duration.js';

export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const dns1123Label = z
  .string()
  .max(63, 'must be at most 63 characters (a DNS-1123 label)')
  .regex(
    DNS1123_LABEL,
    'must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
  );

export const dns1123Subdomain = z
  .string()
  .max(253, 'must be at most 253 characters (a DNS-1123 subdomain)')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS-1123 subdomain: lower-case letters, digits, "-" and "."',
  );

/** What parseDuration accepts, as a pattern the JSON Schema can carry too. */
export const DURATION_PATTERN = /^(?=\d)(\d+d)?(\d+h)?(\d+m(?!s))?(\d+s)?(\d+ms)?$/;

export const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 10s, 1h30m or 250ms');

/**
 * The longest wait Node's timers can do: 2^31−1 ms, about 24.8 days. A longer `setTimeout` fires at once, so no
 * config duration may be longer (boundedDuration checks every maximum against it).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A duration field's limits, each with the reason for it (a clause that follows "At least 1s: "). */
export interface DurationLimits {
  min: string;
  belowMin: string;
  max: string;
  aboveMax: string;
}

/**
 * A duration within `limits`. The schema always refuses 0 and anything above `max`; values below `min` only with
 * `enforceMin`, else the rules stage refuses them (app configs: see RuleContext.minimums).
 */
export function boundedDuration(limits: DurationLimits, { enforceMin }: { enforceMin: boolean }) {
  const minMs = durationMs(limits.min);
  const maxMs = durationMs(limits.max);
  if (!(minMs > 0 && minMs <= maxMs && maxMs < MAX_TIMER_MS)) {
    throw new Error(`duration limits must be 0 < min <= max < ${MAX_TIMER_MS} ms: ${JSON.stringify(limits)}`);
  }
  return duration.superRefine((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) return; // the pattern has said so
    const message = outsideLimits(ms, limits, enforceMin);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: text });
  });
}

/** What is wrong with `ms` under `limits`, if anything; below `min` only when `checkMin`. */
export function outsideLimits(ms: number, limits: DurationLimits, checkMin = true): string | undefined {
  if (ms === 0) return 'must be greater than 0';
  if (ms > durationMs(limits.max)) return `must be at most ${limits.max}: ${limits.aboveMax}`;
  if (checkMin && ms < durationMs(limits.min)) return `must be at least ${limits.min}: ${limits.belowMin}`;
  return undefined;
}

/** The limits as the schema's description states them. */
export function limitsText(limits: DurationLimits): string {
  return `At least ${limits.min}: ${limits.belowMin}. At most ${limits.max}: ${limits.aboveMax}.`;
}

/** A host as the worker config's `hosts` names it (and an app's `host:` refers to it). */
export const HOST_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** A host name; `message` says, for each place, what is expected there. */
export function hostName(message = 'must be a host name such as edge-1') {
  return z.string().regex(HOST_NAME, message);
}

export const nonEmptyString = z.string().min(1, 'must not be empty');

export const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, "_")');
