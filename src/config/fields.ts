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

/** A Linux capability as Kubernetes passes it to the runtime: `NET_BIND_SERVICE`, `ALL`, … */
export const linuxCapability = z
  .string()
  .regex(/^[A-Z][A-Z0-9_]*$/, 'must be a Linux capability in capitals, such as NET_BIND_SERVICE, or ALL');

export const envVarName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name (letters, digits, "_")');

// --- Kubernetes quantities ---

/** The number of a quantity (k8s.io/apimachinery resource.ParseQuantity): digits with at most one ".". */
const QUANTITY_NUMBER = String.raw`(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)`;
/**
 * Its suffix: binary (Ki … Ei), decimal (n u m k M G T P E) or a decimal exponent. The exponent has at most 18
 * digits, so it always fits the int64 the API server parses it into (19 digits may not).
 */
const QUANTITY_SUFFIX = String.raw`(?:[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]{1,18})?`;
const QUANTITY = new RegExp(`^[+-]?${QUANTITY_NUMBER}${QUANTITY_SUFFIX}$`);
/** What cpu and memory accept: no minus sign (the API server refuses negative amounts). */
export const NON_NEGATIVE_QUANTITY_PATTERN = new RegExp(`^\\+?${QUANTITY_NUMBER}${QUANTITY_SUFFIX}$`);

const QUANTITY_EXPECTED =
  'expected a Kubernetes quantity: a number with an optional suffix, such as 500m, 2, 0.5, 1.5Gi or 1e3';

/**
 * What is wrong with `text` as a Kubernetes quantity, if anything: the grammar of the API server's parser, except
 * for forms it reads as 0 by accident ("-", ".", "Gi", ".e3": a quantity here has a digit before its suffix).
 */
export function quantityProblem(
  text: string,
  { negative = true }: { negative?: boolean } = {},
): string | undefined {
  if (text === '') return `must not be empty: ${QUANTITY_EXPECTED}`;
  if (/\s/.test(text)) return `must not contain whitespace: ${QUANTITY_EXPECTED}`;
  if (!QUANTITY.test(text)) {
    const number = new RegExp(`^[+-]?${QUANTITY_NUMBER}`).exec(text);
    if (!number) return `must start with a number: ${QUANTITY_EXPECTED}`;
    const suffix = text.slice(number[0].length);
    if (suffix.startsWith('.')) return `has more than one ".": ${QUANTITY_EXPECTED}`;
    const shown = suffix.length > 20 ? `${suffix.slice(0, 20)}…` : suffix;
    return `unknown suffix "${shown}": expected one of Ki Mi Gi Ti Pi Ei (powers of 2), n u m k M G T P E (powers of 10), or an exponent such as e3`;
  }
  if (!negative && text.startsWith('-')) return 'must not be negative';
  return undefined;
}

/** A cpu or memory amount: a Kubernetes quantity, not negative; YAML numbers count as their decimal text. */
export const resourceQuantity = z.union([
  z
    .string()
    .superRefine((text, ctx) => {
      const message = quantityProblem(text, { negative: false });
      if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: text });
    })
    .meta({ pattern: NON_NEGATIVE_QUANTITY_PATTERN.source }),
  // Refined rather than .min(0), for the same message as "-1" in quotes; the JSON Schema still says minimum 0.
  z
    .number()
    .refine((n) => n >= 0, 'must not be negative')
    .meta({ minimum: 0 }),
]);

// --- Container images ---

// The image reference grammar of github.com/distribution/reference, which the kubelet parses every image with
// (ParseNormalizedNamed; a name it refuses is InvalidImageName, a pod that never starts).
const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const REMOTE_NAME = `${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_AND_PORT = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
const TAG = String.raw`[\w][\w.-]{0,127}`;
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
/** name[:tag][@digest], as anchored in that library (ReferenceRegexp). */
export const IMAGE_REFERENCE = new RegExp(
  `^((?:${DOMAIN_AND_PORT}/)?${REMOTE_NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const NAME = new RegExp(`^(?:(${DOMAIN_AND_PORT})/)?(${REMOTE_NAME})$`);
const DIGEST_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
/** Longer than any registry takes; also keeps the regular expressions' work small. */
const MAX_IMAGE_LENGTH = 1024;
const IMAGE_FORM = 'expected [registry[:port]/]name[:tag][@digest], such as registry.example.com/spark:3.5.1';

/** The registry part of `image` as the kubelet reads it (splitDockerDomain), and the rest as written. */
function splitDomain(image: string): [string, string] {
  const slash = image.indexOf('/');
  if (slash < 0) return ['docker.io', image];
  const first = image.slice(0, slash);
  let [domain, rest] = ['docker.io', image];
  if (first === 'index.docker.io') rest = image.slice(slash + 1);
  else if (first === 'localhost' || /[.:]/.test(first) || first.toLowerCase() !== first)
    [domain, rest] = [first, image.slice(slash + 1)];
  return [domain, rest];
}

/** What is wrong with `image` as a container image reference, if anything (as the kubelet would refuse it). */
export function imageProblem(image: string): string | undefined {
  if (image === '') return 'must not be empty';
  // The API server's own check, and its words.
  if (image.trim() !== image) return 'must not have leading or trailing whitespace';
  if (/\s/.test(image)) return `must not contain whitespace: ${IMAGE_FORM}`;
  if (image.length > MAX_IMAGE_LENGTH) return `must be at most ${MAX_IMAGE_LENGTH} characters`;
  if (/^[a-f0-9]{64}$/.test(image)) return 'is a bare image id: name the image, such as spark@sha256:<id>';
  const [domain, written] = splitDomain(image);
  const remote = written.split(':')[0]!;
  if (remote.toLowerCase() !== remote) return `repository name "${remote}" must be lowercase`;
  // Docker Hub's official images: `spark` is `docker.io/library/spark`.
  const rest = domain === 'docker.io' && !written.includes('/') ? `library/${written}` : written;
  const match = IMAGE_REFERENCE.exec(`${domain}/${rest}`);
  if (!match) return `not an image reference: ${IMAGE_FORM}`;
  const path = NAME.exec(match[1]!)?.[2] ?? '';
  if (path.length > 255) return 'repository name must be at most 255 characters';
  const digest = match[3];
  if (digest !== undefined) {
    const [algorithm, hex] = digest.split(':') as [string, string];
    const length = DIGEST_LENGTHS[algorithm];
    if (length === undefined)
      return `unsupported digest algorithm "${algorithm}": expected sha256, sha384 or sha512`;
    if (!new RegExp(`^[a-f0-9]{${length}}$`).test(hex))
      return `a ${algorithm} digest is ${length} lower-case hexadecimal digits`;
  }
  return undefined;
}

/** A container image: a reference the kubelet can pull (imageProblem). */
export const imageReference = z
  .string()
  .superRefine((image, ctx) => {
    const message = imageProblem(image);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message, input: image });
  })
  .meta({ pattern: IMAGE_REFERENCE.source });
