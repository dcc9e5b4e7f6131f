// Field schemas shared by the app and worker configs.
import { z } from 'zod';

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
