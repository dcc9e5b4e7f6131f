// `${steps.<name>.url}`, `.host` and `.port`: a later step's args, command and env can use a service step's
// in-cluster address, which Kappa fills in before the step runs. Pure: validation finds the references
// (findStepRefs, checked by validate-app.ts), the activities resolve them (resolveStepRefs) with the values
// serviceStepRefs (src/kubernetes/service-manifest.ts) computes. Any other `${…}` is left alone: it belongs to
// the shell or the program that reads the value.
import type { AppConfig, Step } from './app-config.js';
import { formatPath, type ConfigPath } from './issues.js';

/** What a reference can ask of a service step. */
export const STEP_REF_ATTRIBUTES = ['url', 'host', 'port'] as const;
export type StepRefAttribute = (typeof STEP_REF_ATTRIBUTES)[number];

/** A service step's values, as references see them. */
export interface StepRefValues {
  /** `http://<name>.<namespace>.svc:<port>` */
  url: string;
  /** `<name>.<namespace>.svc` */
  host: string;
  port: number;
}

/** One `${steps.…}` in the config. */
export interface StepRef {
  /** The field's path, e.g. `['spec', 'steps', 2, 'pod', 'args', 3]`. */
  path: ConfigPath;
  /** The index of the step whose field holds it; undefined outside the steps. */
  stepIndex?: number;
  /** As written: `${steps.model.url}` (up to the end of the text when it has no `}`). */
  text: string;
  /** The step it names and what it asks for; undefined when the text is not of the form `${steps.<name>.<x>}`. */
  step?: string;
  attribute?: string;
  /** Whether Kappa resolves references in this field (args, command, env values; an ssh script). */
  resolvable: boolean;
}

const START = '${steps.';
const FORM = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.([A-Za-z0-9_-]+)$/;

/** The references in one text, in order. */
function refsIn(text: string): { text: string; index: number; step?: string; attribute?: string }[] {
  const out: { text: string; index: number; step?: string; attribute?: string }[] = [];
  let from = 0;
  for (;;) {
    const index = text.indexOf(START, from);
    if (index < 0) return out;
    const close = text.indexOf('}', index);
    const end = close < 0 ? text.length : close + 1;
    const ref = text.slice(index, end);
    const form = close < 0 ? null : FORM.exec(text.slice(index + START.length, close));
    out.push(form ? { text: ref, index, step: form[1]!, attribute: form[2]! } : { text: ref, index });
    from = end;
  }
}

type MapText = (text: string, path: ConfigPath) => string;

const mapList = (list: string[] | undefined, at: ConfigPath, fn: MapText) =>
  list?.map((text, i) => fn(text, [...at, i]));

const mapEnv = (env: Record<string, string> | undefined, at: ConfigPath, fn: MapText) =>
  env && Object.fromEntries(Object.entries(env).map(([name, text]) => [name, fn(text, [...at, name])]));

/** `args`, `command` and `env` of a container-like object, mapped; other fields kept. */
function mapContainer<C extends { command?: string[]; args?: string[]; env?: Record<string, string> }>(
  c: C,
  at: ConfigPath,
  fn: MapText,
): C {
  const out = { ...c };
  if (c.command) out.command = mapList(c.command, [...at, 'command'], fn);
  if (c.args) out.args = mapList(c.args, [...at, 'args'], fn);
  if (c.env) out.env = mapEnv(c.env, [...at, 'env'], fn);
  return out;
}

/** A copy of `step` with `fn` applied to every field where references are resolved; `at` is the step's path. */
function mapStepTexts(step: Step, at: ConfigPath, fn: MapText): Step {
  const out = { ...step };
  if (step.pod) {
    const path = [...at, 'pod'];
    const pod = mapContainer(step.pod, path, fn);
    pod.initContainers = step.pod.initContainers.map((c, j) =>
      mapContainer(c, [...path, 'initContainers', j], fn),
    );
    pod.sidecars = step.pod.sidecars.map((c, j) => mapContainer(c, [...path, 'sidecars', j], fn));
    out.pod = pod;
  }
  if (step.service) out.service = mapContainer(step.service, [...at, 'service'], fn);
  if (step.ssh) {
    const path = [...at, 'ssh'];
    const ssh = mapContainer(step.ssh, path, fn);
    if (step.ssh.script !== undefined) ssh.script = fn(step.ssh.script, [...path, 'script']);
    out.ssh = ssh;
  }
  return out;
}

/** Every string in `value` with its path. */
function* strings(value: unknown, path: ConfigPath): Generator<[string, ConfigPath]> {
  if (typeof value === 'string') yield [value, path];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...path, i]);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...path, k]);
}

/**
 * Every `${steps.…}` in the config: in the fields Kappa resolves (resolvable) and anywhere else, where it would
 * reach the cluster or the edge node as written.
 */
export function findStepRefs(config: AppConfig): StepRef[] {
  const resolvable = new Set<string>();
  config.spec.steps.forEach((step, i) =>
    mapStepTexts(step, ['spec', 'steps', i], (text, path) => {
      resolvable.add(formatPath(path));
      return text;
    }),
  );
  const out: StepRef[] = [];
  for (const [text, path] of strings(config, [])) {
    const stepIndex = path[0] === 'spec' && path[1] === 'steps' ? (path[2] as number) : undefined;
    for (const ref of refsIn(text)) {
      const { step, attribute } = ref;
      out.push({
        path,
        ...(stepIndex !== undefined ? { stepIndex } : {}),
        text: ref.text,
        ...(step !== undefined ? { step, attribute } : {}),
        resolvable: resolvable.has(formatPath(path)),
      });
    }
  }
  return out;
}

const isAttribute = (a: string | undefined): a is StepRefAttribute =>
  (STEP_REF_ATTRIBUTES as readonly string[]).includes(a ?? '');

/**
 * A copy of `step` with every `${steps.<name>.url|host|port}` in its args, command and env values (and an ssh
 * script) replaced by `values[name]`. The config has been validated, so a reference that cannot be resolved is a
 * bug: it throws, naming the field.
 */
export function resolveStepRefs(step: Step, values: Readonly<Record<string, StepRefValues>>): Step {
  return mapStepTexts(step, [], (text, path) => {
    const refs = refsIn(text);
    if (refs.length === 0) return text;
    let out = '';
    let from = 0;
    for (const ref of refs) {
      const value = ref.step !== undefined ? values[ref.step] : undefined;
      if (!value || !isAttribute(ref.attribute)) {
        throw new Error(
          `step ${step.name}: ${formatPath(path)}: cannot resolve ${ref.text}: ${value ? `no attribute "${ref.attribute}"` : `no service step "${ref.step ?? ref.text}"`}`,
        );
      }
      out += text.slice(from, ref.index) + String(value[ref.attribute]);
      from = ref.index + ref.text.length;
    }
    return out + text.slice(from);
  });
}

/** Which references of `step` resolve to what: `${steps.model.url} → http://…`, each once, for `kappa render`. */
export function describeResolved(
  step: Step,
  values: Readonly<Record<string, StepRefValues>>,
): { ref: string; value: string }[] {
  const seen = new Map<string, string>();
  mapStepTexts(step, [], (text) => {
    for (const ref of refsIn(text)) {
      const value = ref.step !== undefined ? values[ref.step] : undefined;
      if (value && isAttribute(ref.attribute)) seen.set(ref.text, String(value[ref.attribute]));
    }
    return text;
  });
  return [...seen].map(([ref, value]) => ({ ref, value }));
}
