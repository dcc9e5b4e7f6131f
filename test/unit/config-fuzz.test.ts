// The app config loader under random damage: the examples in config/apps, mutated a few thousand times with a
// seeded PRNG (lines deleted, duplicated, swapped, re-indented; scalars of the wrong type; truncation; odd YAML),
// go through the loader `kappa validate` uses. Whatever the text, the loader returns a config or throws a
// ConfigError whose every issue has a position in the file and a field path (or says what is wrong with the file
// as a whole), and it does so quickly. A failure prints the seed and the case: rerun it with
// KAPPA_FUZZ_SEED=<seed> KAPPA_FUZZ_CASE=<case>.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadAppFiles, loadAppText } from '../../src/config/load.js';
import { ConfigError, formatLocated, type LocatedIssue } from '../../src/config/yaml-source.js';

const SEED = Number(process.env.KAPPA_FUZZ_SEED ?? 0x6b617070);
const RUNS = Number(process.env.KAPPA_FUZZ_RUNS ?? 3000);
const ONLY = process.env.KAPPA_FUZZ_CASE === undefined ? undefined : Number(process.env.KAPPA_FUZZ_CASE);
/** Far above what any case takes (milliseconds); a case this slow is as good as a hang. */
const SLOW_MS = 2_000;

const APPS = join(__dirname, '..', '..', 'config', 'apps');
const EXAMPLES = readdirSync(APPS)
  .filter((name) => name.endsWith('.yaml'))
  .sort()
  .map((name) => ({ name, text: readFileSync(join(APPS, name), 'utf8') }));
const KNOWN_HOSTS = ['edge-1', 'edge-2'];

/** mulberry32: small, fast and the same on every platform. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    int,
    pick: <T>(items: readonly T[]): T => items[int(items.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rand = ReturnType<typeof prng>;

/** Values of every type and a few of every awkward kind, for `key: <value>` and `- <value>`. */
const VALUES: readonly ((r: Rand) => string)[] = [
  () => '42',
  () => '-1',
  () => '0',
  () => '1.5',
  () => '1e400',
  () => '.inf',
  () => '-.inf',
  () => '.nan',
  () => '0x1F',
  () => '0o17',
  () => 'true',
  () => 'null',
  () => '~',
  () => '',
  () => '""',
  () => "''",
  () => 'some text',
  () => '"10s"',
  () => '0s',
  () => '1ms',
  () => '99999999999h',
  () => `${'9'.repeat(400)}d`,
  () => '[]',
  () => '[a, 1, null]',
  () => '{}',
  () => '{ a: 1, b: [2] }',
  () => '!!binary aGVsbG8gd29ybGQ=',
  () => '!!str 5',
  () => '!!int "7"',
  () => '!!float x',
  () => '!!timestamp 2001-12-14',
  () => '!custom-tag value',
  () => '2001-12-14t21:59:43.10-05:00',
  () => '*nowhere',
  () => '&anchor 5',
  () => '|\n  a block\n  scalar',
  () => '>-\n  folded',
  () => '"\\u0000\\x07"',
  () => '"\\uD800"',
  () => '\u00e9\u4e2d\u{1F600}',
  () => '__proto__',
  () => 'constructor',
  (r) => `"${'x'.repeat(r.pick([300, 70_000]))}"`,
  (r) => `${'['.repeat(r.int(3000))}1`,
  (r) => `${'{a: '.repeat(r.int(300))}1${'}'.repeat(r.int(300))}`,
];

/** Whole lines of odd YAML. */
const INSERTS: readonly ((r: Rand) => string)[] = [
  () => 'anchored: &a { k: v }\naliased: *a',
  () => '<<: { apiVersion: kappa/v1 }',
  () => 'base: &b { pollInterval: 1s }\nmerged:\n  <<: *b',
  () => '<<: *undefinedAnchor',
  () => '<<: [ *a, *b ]',
  () => 'blob: !!binary aGVsbG8gd29ybGQ=',
  () => '\tkey: tabbed',
  () => '  \t  ',
  () => 'key: value\nkey: again',
  () => 'apiVersion: kappa/v1',
  () => 'spec: {}',
  () => 'kind: BatchJob',
  (r) => `long: ${'y'.repeat(r.pick([1_000, 200_000]))}`,
  (r) => `deep: ${'['.repeat(r.int(20_000))}${']'.repeat(r.int(20_000))}`,
  (r) => `deep: ${'{a: '.repeat(r.int(2_000))}1${'}'.repeat(r.int(2_000))}`,
  (r) => Array.from({ length: r.int(400) }, (_, i) => `${' '.repeat(i * 2)}k${i}:`).join('\n') + ' end',
  (r) => Array.from({ length: r.int(400) }, (_, i) => `${' '.repeat(i * 2)}- `).join('\n') + 'x',
  () =>
    [
      'lol1: &l1 [x, x, x, x, x, x, x, x, x, x]',
      'lol2: &l2 [*l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1, *l1]',
      'lol3: &l3 [*l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2, *l2]',
      'lol4: &l4 [*l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3, *l3]',
      'lol5: &l5 [*l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4, *l4]',
      'lol6: &l6 [*l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5, *l5]',
    ].join('\n'),
  () => 'self: &s [*s]',
  () => '? [complex, key]\n: value',
  () => '? { a: 1 }\n: value',
  () => '__proto__: { polluted: true }',
  () => 'constructor: { prototype: {} }',
  () => 'toString: x',
  () => 'hasOwnProperty: 1',
  () => '%YAML 1.1\n---',
  () => '%TAG ! tag:example.com,2000:\n---',
  () => '---',
  () => '...',
  () => '--- !!map',
  () => '"unterminated',
  () => "'unterminated",
  () => '{ unclosed: flow',
  () => '[ unclosed, flow',
  () => '}',
  () => '\u0000',
  () => '\u0007bell: 1',
  () => '\uFEFF',
  () => '\uFEFFkey: after a BOM',
  () => '&lonely',
  () => '*lonely',
  () => '!!set { a, b }',
  () => '!!omap [ a: 1 ]',
  () => '!!pairs [ a: 1, a: 2 ]',
  () => '- a list item',
  () => 'a: b: c',
  () => 'a: - b',
  () => '   # an indented comment',
  () => '"quoted key": 1',
  () => '1: numeric key',
  () => 'null: x',
  () => '~: x',
  () => 'true: x',
  () => '[a, b]: flow key',
  () => 'key: |\n wrong block indent\n  more',
  () => 'key: >\n\n\n',
  () => 'emoji\u{1F600}: "\u{1F600}"',
];

interface Mutation {
  name: string;
  apply: (text: string, r: Rand) => string;
}

const lines = (text: string) => text.split('\n');
const indentOf = (line: string) => /^\s*/.exec(line)![0];

const MUTATIONS: readonly Mutation[] = [
  {
    name: 'delete a line',
    apply: (text, r) => {
      const ls = lines(text);
      ls.splice(r.int(ls.length), 1);
      return ls.join('\n');
    },
  },
  {
    name: 'duplicate a line',
    apply: (text, r) => {
      const ls = lines(text);
      const i = r.int(ls.length);
      ls.splice(i, 0, ls[i]!);
      return ls.join('\n');
    },
  },
  {
    name: 'swap two lines',
    apply: (text, r) => {
      const ls = lines(text);
      const i = r.int(ls.length);
      const j = r.int(ls.length);
      [ls[i], ls[j]] = [ls[j]!, ls[i]!];
      return ls.join('\n');
    },
  },
  {
    name: 'change indentation',
    apply: (text, r) => {
      const ls = lines(text);
      const i = r.int(ls.length);
      const line = ls[i]!;
      const indent = indentOf(line).length;
      const to = r.chance(0.15) ? '\t' : ' '.repeat(Math.max(0, indent + r.pick([-4, -2, -1, 1, 2, 4])));
      ls[i] = to + line.trimStart();
      return ls.join('\n');
    },
  },
  {
    name: 'replace a scalar',
    apply: (text, r) => {
      const ls = lines(text);
      const candidates = ls
        .map((line, i) => ({ i, m: /^(\s*(?:- )?(?:[^\s:#][^:#]*:\s+|- ))(\S.*)$/.exec(line) }))
        .filter((c) => c.m);
      if (candidates.length === 0) return text;
      const { i, m } = r.pick(candidates);
      const value = r.pick(VALUES)(r);
      // Multi-line values continue at the line's indentation.
      ls[i] = m![1] + value.replace(/\n/g, `\n${indentOf(ls[i]!)}`);
      return ls.join('\n');
    },
  },
  {
    name: 'replace a value in a flow collection',
    apply: (text, r) => {
      const flows = [...text.matchAll(/([{,]\s*[\w-]+:\s*)([^,{}[\]\n]+)/g)];
      if (flows.length === 0) return text;
      const m = r.pick(flows);
      const at = m.index + m[1]!.length;
      return text.slice(0, at) + r.pick(VALUES)(r).replace(/\n/g, ' ') + text.slice(at + m[2]!.length);
    },
  },
  {
    name: 'truncate',
    apply: (text, r) => text.slice(0, r.int(text.length + 1)),
  },
  {
    name: 'insert odd YAML',
    apply: (text, r) => {
      const ls = lines(text);
      const i = r.int(ls.length + 1);
      const indent = r.chance(0.5) ? indentOf(ls[Math.min(i, ls.length - 1)] ?? '') : '';
      const inserted = r.pick(INSERTS)(r).replace(/^/gm, indent);
      ls.splice(i, 0, inserted);
      return ls.join('\n');
    },
  },
  { name: 'prepend a BOM', apply: (text) => '\uFEFF' + text },
  { name: 'CRLF line ends', apply: (text) => text.replace(/\n/g, '\r\n') },
  { name: 'CR line ends', apply: (text) => text.replace(/\n/g, '\r') },
  {
    name: 'replace the whole file',
    apply: (_text, r) => r.pick([...VALUES, ...INSERTS])(r),
  },
];

/** Issues without a path must say what is wrong with the file as a whole. */
const FILE_LEVEL = /^(YAML syntax: |YAML: |empty file|one config per file|expected a mapping)/;

interface Case {
  index: number;
  example: string;
  mutations: string[];
  text: string;
}

function makeCase(index: number): Case {
  const r = prng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const example = r.pick(EXAMPLES);
  let text = example.text;
  const mutations: string[] = [];
  for (let n = 1 + r.int(3); n > 0; n--) {
    const mutation = r.pick(MUTATIONS);
    mutations.push(mutation.name);
    text = mutation.apply(text, r);
  }
  return { index, example: example.name, mutations, text };
}

function describeCase(c: Case): string {
  const shown = c.text.length > 3_000 ? `${c.text.slice(0, 3_000)}\n… (${c.text.length} characters)` : c.text;
  return [
    `config fuzz: seed ${SEED}, case ${c.index} (rerun: KAPPA_FUZZ_SEED=${SEED} KAPPA_FUZZ_CASE=${c.index})`,
    `${c.example}, mutated: ${c.mutations.join(', ')}`,
    '----',
    shown,
    '----',
  ].join('\n');
}

/** Checks one verdict; returns what is wrong with it, if anything. */
function problemsWith(file: string, text: string, issues: readonly LocatedIssue[]): string[] {
  const problems: string[] = [];
  const lineCount = text.split(/\r\n|\r|\n/).length;
  for (const issue of issues) {
    const shown = formatLocated(issue);
    if (issue.file !== file) problems.push(`names ${issue.file}, not ${file}: ${shown}`);
    if (!Number.isInteger(issue.line) || issue.line < 1 || issue.line > lineCount) {
      problems.push(`line ${issue.line} is not in the file (${lineCount} lines): ${shown}`);
    }
    if (!Number.isInteger(issue.col) || issue.col < 1) problems.push(`column ${issue.col}: ${shown}`);
    if (typeof issue.message !== 'string' || issue.message.trim() === '')
      problems.push(`no message: ${shown}`);
    if (issue.path.length === 0 && !FILE_LEVEL.test(issue.message)) {
      problems.push(`no field path and not about the whole file: ${shown}`);
    }
    if (/\[object Object\]|Invalid input|undefined$/.test(issue.message)) {
      problems.push(`an unclear message: ${shown}`);
    }
  }
  return problems;
}

/** Runs one case: whether the config was rejected, and what is wrong with the verdict, if anything. */
function judge(c: Case): { rejected: boolean; wrong?: string } {
  const file = `fuzz-${c.index}.yaml`;
  const started = performance.now();
  let issues: LocatedIssue[] = [];
  try {
    loadAppText(file, c.text, { knownHosts: KNOWN_HOSTS });
  } catch (err) {
    if (!(err instanceof ConfigError)) {
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      return { rejected: true, wrong: `threw ${what}, not a ConfigError` };
    }
    issues = err.issues;
    if (issues.length === 0) return { rejected: true, wrong: 'a ConfigError without issues' };
  }
  const took = performance.now() - started;
  if (took > SLOW_MS) return { rejected: issues.length > 0, wrong: `took ${Math.round(took)} ms` };
  const problems = problemsWith(file, c.text, issues);
  return { rejected: issues.length > 0, ...(problems.length > 0 ? { wrong: problems.join('\n') } : {}) };
}

const dir = mkdtempSync(join(tmpdir(), 'kappa-config-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test(`the loader survives ${ONLY === undefined ? RUNS : 1} mutated configs (seed ${SEED})`, () => {
  const indexes = ONLY === undefined ? Array.from({ length: RUNS }, (_, i) => i) : [ONLY];
  let rejected = 0;
  for (const index of indexes) {
    const c = makeCase(index);
    const verdict = judge(c);
    if (verdict.wrong !== undefined) assert.fail(`${describeCase(c)}\n${verdict.wrong}`);
    if (verdict.rejected) rejected++;
  }
  // The mutations must mostly break the examples, or the run proves little.
  if (ONLY === undefined) assert.ok(rejected > RUNS / 2, `only ${rejected} of ${RUNS} mutants were rejected`);
});

test('from files, as `kappa validate` reads them, every verdict is a position or a config', () => {
  const files: string[] = [];
  for (let index = 0; index < 200; index++) {
    const c = makeCase(RUNS + index);
    const file = join(dir, `case-${c.index}.yaml`);
    writeFileSync(file, c.text);
    files.push(file);
  }
  const { apps, issues } = loadAppFiles(files, { knownHosts: KNOWN_HOSTS });
  const judged = new Set([...apps.map((a) => a.file), ...issues.map((i) => i.file)]);
  assert.deepEqual(
    files.filter((f) => !judged.has(f)),
    [],
    `seed ${SEED}: files with no verdict`,
  );
  for (const file of files) {
    const own = issues.filter((i) => i.file === file);
    const problems = own.length > 0 ? problemsWith(file, readFileSync(file, 'utf8'), own) : [];
    assert.deepEqual(problems, [], `seed ${SEED}, ${file}`);
  }
});
