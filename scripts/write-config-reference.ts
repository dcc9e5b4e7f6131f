// Renders the field tables of docs/configuration.md from the zod schemas (`npm run docs`), so the reference
// cannot drift from what `kappa validate` accepts: types, bounds and defaults come from the schemas, the one-line
// meanings from the schemas' descriptions or, where they have none, from FIELD_NOTES below.
// test/unit/config-reference.test.ts fails when the committed file differs from what this renders.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { z } from 'zod';
import { appConfigSchema, hostRef } from '../src/config/app-config.js';
import {
  dns1123Label,
  dns1123Subdomain,
  duration,
  envVarName,
  IMAGE_REFERENCE,
  linuxCapability,
  NON_NEGATIVE_QUANTITY_PATTERN,
} from '../src/config/fields.js';
import { workerConfigSchema } from '../src/config/worker-config.js';

export const CONFIG_REFERENCE_PATH = 'docs/configuration.md';

const ROOT = join(__dirname, '..');

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  default?: unknown;
  description?: string;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

const toJson = (schema: z.ZodType): JsonSchema =>
  z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;

/** Field kinds recognised by their pattern, taken from the field schemas themselves. */
const NAMED_PATTERNS = new Map<string | undefined, { type: string; key: string }>([
  [toJson(duration).pattern, { type: 'duration', key: 'duration' }],
  [toJson(dns1123Label).pattern, { type: 'DNS-1123 label', key: 'label' }],
  [toJson(dns1123Subdomain).pattern, { type: 'DNS-1123 subdomain', key: 'name' }],
  [toJson(envVarName).pattern, { type: 'environment variable name', key: 'NAME' }],
  [toJson(hostRef).pattern, { type: 'host name', key: 'host' }],
  [toJson(linuxCapability).pattern, { type: 'capability name', key: 'capability' }],
  [IMAGE_REFERENCE.source, { type: 'image reference', key: 'image' }],
  [NON_NEGATIVE_QUANTITY_PATTERN.source, { type: 'Kubernetes quantity', key: 'quantity' }],
]);

/**
 * What each field means, for fields whose schema has no description (a note here wins over a description). Fields
 * with limits (src/config/limits.ts) have their meaning and limits in the schema's description instead.
 * Types, bounds and defaults are not repeated here: they come from the schema.
 */
const FIELD_NOTES: Record<string, string> = {
  // --- app config ---
  apiVersion: 'Always `kappa/v1`.',
  kind: '`StreamingApp`: kept running. `BatchJob`: runs to completion, on a schedule or when triggered.',
  metadata: 'Names the app.',
  'metadata.name':
    'Unique among apps. The workflow id is `kappa/<name>` (for a BatchJob also the schedule id); pod names start with it.',
  'metadata.labels': 'Free-form strings for people and tools; Kappa itself does not act on them.',
  spec: 'What to run and how to keep it alive.',
  'spec.yarn': 'The YARN application this app is.',
  'spec.yarn.host':
    "The edge node whose `yarn` CLI Kappa uses: a key of the worker config's `hosts`, or `local` (the worker's own host).",
  'spec.yarn.appName':
    'The YARN application name (`spark-submit --name`): how Kappa finds the app, and live copies of it, in YARN.',
  'spec.yarn.onExisting':
    'A live instance of `appName` found before the steps run (first start and every restart): `adopt` it (extra copies are killed), `kill` it, or `fail` the attempt.',
  'spec.restartPolicy': 'What happens when the app ends or a step fails.',
  'spec.restartPolicy.backoff': 'The wait before restart _n_: `initial × factor^(n-1)`, capped at `max`.',
  'spec.restartPolicy.from':
    'The step a restart re-runs from (must name a step); default: the first step. A deploy of a changed config always starts at the first step. Naming the step after a `service` step leaves the service alone on restarts.',
  'spec.schedule':
    'A Temporal Schedule with id `kappa/<name>`. Without it the job runs only when triggered (`kappa run`).',
  'spec.schedule.cron': "When to run: a cron expression (five fields, Temporal's cron syntax).",
  'spec.schedule.timezone': 'The IANA time zone the cron expression is read in.',
  'spec.schedule.overlap':
    'A run due while the previous one still runs: `skip` it, `bufferOne` (start it afterwards), `cancelOther` (cancel the running one), `allowAll` (run both).',
  'spec.steps':
    'Run in order on every start; a restart starts at `restartPolicy.from`. Each step has exactly one of `pod`, `ssh`, `service`.',
  'spec.steps[].name':
    "Unique in the app; used in pod names, logs and `restartPolicy.from`; a service step's in its objects' names and `${steps.<name>.url}`.",
  'spec.steps[].pod':
    "A Kubernetes pod. `image` … `securityContext` here are the main container's; the step ends when the main container exits, and succeeds on exit code 0.",
  'spec.steps[].pod.namespace': "The pod's namespace; default: the worker config's `kubernetes.namespace`.",
  'spec.steps[].pod.serviceAccount':
    "The service account the pod runs as; default: the worker config's `kubernetes.serviceAccount`.",
  'spec.steps[].pod.image':
    "The main container's image, as the kubelet parses it: `[registry[:port]/]name[:tag][@digest]`, the name in lower case, no spaces.",
  'spec.steps[].pod.command': "The main container's entrypoint (argv); default: the image's.",
  'spec.steps[].pod.args': "The main container's arguments.",
  'spec.steps[].pod.env':
    'Environment variables. Names that look like secrets (ending in `PASSWORD`, `PASSWD`, `SECRET`, `TOKEN`, `API_KEY`, `PRIVATE_KEY`) are refused: use `secretEnv`.',
  'spec.steps[].pod.secretEnv':
    'Environment variables read from Kubernetes Secrets (`secretKeyRef`): the values never pass through Kappa.',
  'spec.steps[].pod.secretEnv.<NAME>.secret': "The Secret's name.",
  'spec.steps[].pod.secretEnv.<NAME>.key': 'The key in that Secret.',
  'spec.steps[].pod.resources':
    'Resource requests; the memory request is also the limit, CPU is not limited.',
  'spec.steps[].pod.resources.cpu': 'A Kubernetes quantity, not negative: `500m`, `2`, `0.5`.',
  'spec.steps[].pod.resources.memory': 'A Kubernetes quantity, not negative: `512Mi`, `1Gi`, `1e9`.',
  'spec.steps[].pod.securityContext':
    "The main container's `securityContext` (Kubernetes' fields of that name); it overrides `podSecurityContext`.",
  'spec.steps[].pod.initContainers':
    'Run to completion first, in order (the build); a failing one fails the step. `main` is taken; names are unique in the pod.',
  'spec.steps[].pod.initContainers[].name': "The container's name.",
  'spec.steps[].pod.initContainers[].image': 'As for the main container.',
  'spec.steps[].pod.initContainers[].command': 'As for the main container.',
  'spec.steps[].pod.initContainers[].args': 'As for the main container.',
  'spec.steps[].pod.initContainers[].env': 'As for the main container.',
  'spec.steps[].pod.initContainers[].secretEnv': 'As for the main container.',
  'spec.steps[].pod.initContainers[].secretEnv.<NAME>.secret': 'As for the main container.',
  'spec.steps[].pod.initContainers[].secretEnv.<NAME>.key': 'As for the main container.',
  'spec.steps[].pod.initContainers[].resources': 'As for the main container.',
  'spec.steps[].pod.initContainers[].resources.cpu': 'As for the main container.',
  'spec.steps[].pod.initContainers[].resources.memory': 'As for the main container.',
  'spec.steps[].pod.sidecars':
    'The same fields as `initContainers[]`. Native sidecars: they start first, run beside the build and the main container, and are stopped after it; a crash-looping one fails the step.',
  'spec.steps[].pod.sharedVolume':
    'An `emptyDir` mounted at this absolute path in every container: how the build hands the jar to the main container.',
  'spec.steps[].pod.keepPod':
    'After the step: `never` keep the pod, keep it `onFailure`, or `always`. A cancelled step deletes its pod regardless.',
  'spec.steps[].ssh':
    "A command on an edge node over SSH (or on the worker's host with `host: local`); it succeeds on exit code 0.",
  'spec.steps[].ssh.host': "A key of the worker config's `hosts`, or `local`.",
  'spec.steps[].ssh.command':
    'The command as argv: each element is shell-quoted. Exactly one of `command`, `script`.',
  'spec.steps[].ssh.script':
    'A shell script, run with `sh -e -c` on the host. Exactly one of `command`, `script`.',
  'spec.steps[].ssh.env':
    'Environment variables for the command (`env NAME=value …`); secret-looking names are refused as for pods.',

  // --- worker config ---
  temporal: 'Where the worker and the CLI find Temporal (see Reaching Temporal for what overrides it).',
  'temporal.address': 'The Temporal frontend, `host:port`.',
  'temporal.namespace': 'The Temporal namespace.',
  'temporal.taskQueue': 'The task queue the worker polls and the CLI starts workflows on.',
  'temporal.tls': 'TLS to Temporal; with a client certificate and key, mutual TLS.',
  'temporal.tls.serverName': "The server name to verify the server's certificate against.",
  'temporal.tls.serverRootCACertPath': "The CA certificate to verify the server with; default: the system's.",
  'temporal.tls.clientCertPath': 'The client certificate (PEM).',
  'temporal.tls.clientKeyPath': "The client certificate's private key (PEM).",
  kubernetes: 'Defaults for pod steps.',
  'kubernetes.namespace': 'The namespace of pods whose step names none.',
  'kubernetes.serviceAccount':
    "The service account of pods whose step names none; default: the namespace's default account.",
  hosts: "The edge nodes, by the names app configs use. `local` is reserved for the worker's own host.",
  'hosts.<host>.host': 'The DNS name or address to connect to.',
  'hosts.<host>.port': 'The SSH port.',
  'hosts.<host>.username': 'The user commands run as.',
  'hosts.<host>.privateKeyPath':
    "The private key (`~/` is the home directory). An encrypted key's passphrase comes from `KAPPA_SSH_PASSPHRASE_<HOST>` or `KAPPA_SSH_PASSPHRASE`.",
  'hosts.<host>.knownHostsPath':
    'The known_hosts file. Host keys are always verified: an unknown or changed key is refused.',
  'hosts.<host>.yarnCommand': 'The yarn CLI on that host.',
  local: "The worker's own host, for `host: local`.",
  'local.yarnCommand': "The yarn CLI on the worker's host.",
  metrics: 'The Prometheus endpoint.',
};

/** Arrays whose items have exactly the fields of another array's items: listed once, at the first. */
const SAME_ITEMS: Record<string, string> = {
  'spec.steps[].pod.sidecars': 'spec.steps[].pod.initContainers',
};

interface Row {
  path: string;
  type: string;
  default: string;
  meaning: string;
}

const code = (value: unknown) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;

function typeOf(schema: JsonSchema): string {
  if (schema.const !== undefined) return code(schema.const);
  if (schema.enum) return schema.enum.map(code).join(' \\| ');
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(' or ');
  switch (schema.type) {
    case 'string': {
      const named = NAMED_PATTERNS.get(schema.pattern);
      if (named) return named.type;
      if (schema.pattern) return `string matching ${code(schema.pattern)}`;
      return schema.minLength ? 'non-empty string' : 'string';
    }
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'number': {
      const { minimum: min, maximum: max } = schema;
      const bounded = max !== undefined && max < Number.MAX_SAFE_INTEGER;
      if (min !== undefined && bounded) return `${schema.type} ${min}–${max}`;
      if (min !== undefined) return `${schema.type} ≥ ${min}`;
      return bounded ? `${schema.type} ≤ ${max}` : schema.type;
    }
    case 'array': {
      const items = schema.items ?? {};
      const of = items.type === 'object' ? 'objects' : `${typeOf(items)}s`;
      return `list of ${of}${schema.minItems ? `, at least ${schema.minItems}` : ''}`;
    }
    case 'object': {
      const values = recordValues(schema);
      if (!values) return 'object';
      const key = NAMED_PATTERNS.get(schema.propertyNames?.pattern)?.type ?? 'string';
      return `map: ${key} → ${values.type === 'object' ? 'object' : typeOf(values)}`;
    }
    default:
      throw new Error(`no type for ${JSON.stringify(schema)}`);
  }
}

function recordValues(schema: JsonSchema): JsonSchema | undefined {
  return typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
}

function defaultOf(schema: JsonSchema, required: boolean): string {
  if (required) return 'required';
  if (schema.default === undefined) return 'optional';
  if (typeof schema.default === 'object' && Object.keys(schema.default as object).length === 0) {
    return Array.isArray(schema.default) ? code([]) : 'optional';
  }
  return code(schema.default);
}

/** One row per field, depth first, in the schema's order. */
function walk(root: JsonSchema, schema: JsonSchema, path: string, required: boolean, rows: Row[]): void {
  if (path !== '') {
    const meaning = FIELD_NOTES[path] ?? schema.description;
    if (!meaning) throw new Error(`${path}: no meaning; add it to FIELD_NOTES in ${__filename}`);
    rows.push({ path, type: typeOf(schema), default: defaultOf(schema, required), meaning });
  }
  const prefix = path === '' ? '' : `${path}.`;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    walk(root, child, prefix + key, schema.required?.includes(key) ?? false, rows);
  }
  const values = recordValues(schema);
  if (values?.properties) {
    const key = NAMED_PATTERNS.get(schema.propertyNames?.pattern)?.key ?? 'key';
    for (const [name, child] of Object.entries(values.properties)) {
      walk(root, child, `${prefix}<${key}>.${name}`, values.required?.includes(name) ?? false, rows);
    }
  }
  if (schema.items?.properties) {
    const same = SAME_ITEMS[path];
    if (same !== undefined) {
      const other = findItems(root, same);
      if (JSON.stringify(other) !== JSON.stringify(schema.items)) {
        throw new Error(`${path}[] no longer has the same fields as ${same}[]: update SAME_ITEMS`);
      }
      return;
    }
    for (const [key, child] of Object.entries(schema.items.properties)) {
      walk(root, child, `${path}[].${key}`, schema.items.required?.includes(key) ?? false, rows);
    }
  }
}

function findItems(root: JsonSchema, path: string): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const part of path.split('.')) {
    const name = part.replace(/\[\]$/, '');
    node = node?.properties?.[name];
    if (part.endsWith('[]')) node = node?.items;
  }
  return node?.items;
}

function rowsOf(root: JsonSchema): Row[] {
  const rows: Row[] = [];
  walk(root, root, '', false, rows);
  return rows;
}

/** The app config is a union on `kind`: fields of one kind only say so. */
function appConfigRows(): Row[] {
  const variants = (toJson(appConfigSchema).oneOf ?? []).map((variant) => ({
    kind: String(variant.properties?.kind?.const),
    rows: rowsOf(variant),
  }));
  const widest = [...variants].sort((a, b) => b.rows.length - a.rows.length)[0]!;
  return widest.rows.map((row) => {
    const present = variants.filter((v) => v.rows.some((r) => r.path === row.path));
    const types = [...new Set(present.map((v) => v.rows.find((r) => r.path === row.path)!.type))];
    const only = present.length < variants.length ? `${present.map((v) => v.kind).join(', ')} only. ` : '';
    return { ...row, type: types.join(' \\| '), meaning: only + row.meaning };
  });
}

function table(rows: Row[]): string {
  const cell = (text: string) =>
    text.replace(/\|/g, (m, i: number, s: string) => (s[i - 1] === '\\' ? m : '\\|'));
  return [
    '| field | type | default | meaning |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${code(r.path)} | ${cell(r.type)} | ${cell(r.default)} | ${cell(r.meaning)} |`),
  ].join('\n');
}

function checkNotesUsed(rows: Row[]): void {
  const paths = new Set(rows.map((r) => r.path));
  const unused = Object.keys(FIELD_NOTES).filter((path) => !paths.has(path));
  if (unused.length > 0) {
    throw new Error(`FIELD_NOTES names fields the schemas do not have: ${unused.join(', ')}`);
  }
}

/** The generated blocks, by marker name. */
export function generatedBlocks(): Record<string, string> {
  const app = appConfigRows();
  const worker = rowsOf(toJson(workerConfigSchema));
  checkNotesUsed([...app, ...worker]);
  return { 'app-config-fields': table(app), 'worker-config-fields': table(worker) };
}

/** `text` with every generated block replaced by what the schemas say now, formatted as Prettier would. */
export async function renderConfigReference(text: string): Promise<string> {
  const blocks = generatedBlocks();
  let out = text;
  for (const [name, body] of Object.entries(blocks)) {
    const begin = `<!-- generated: ${name} (npm run docs) -->`;
    const end = `<!-- end generated: ${name} -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`${CONFIG_REFERENCE_PATH}: markers for ${name} missing`);
    out = `${out.slice(0, from + begin.length)}\n\n${body}\n\n${out.slice(to)}`;
  }
  const file = join(ROOT, CONFIG_REFERENCE_PATH);
  return format(out, { ...(await resolveConfig(file)), filepath: file });
}

async function main(): Promise<void> {
  const file = join(ROOT, CONFIG_REFERENCE_PATH);
  writeFileSync(file, await renderConfigReference(readFileSync(file, 'utf8')));
  console.log(`wrote ${CONFIG_REFERENCE_PATH}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
