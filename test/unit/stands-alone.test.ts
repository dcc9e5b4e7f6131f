// The repository stands alone: a clone has everything its docs and code point at. No mention of files outside
// it, no Markdown link that leaves it or points at nothing; and the reference docs name what the code has.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { main } from '../../src/cli/main.js';
import { FailureType } from '../../src/common/failures.js';
import { Phase } from '../../src/common/phases.js';
import { SearchAttribute, TASK_QUEUE, WORKFLOW_TYPE } from '../../src/common/temporal-names.js';
import { deployUpdate, restartSignal, statusQuery, stopSignal } from '../../src/workflows/definitions.js';

const ROOT = join(__dirname, '..', '..');

/** What a clone does not have. Spelled in pieces so this file does not mention them itself. */
const OUTSIDE_FILE = ['DESIGN', 'md'].join('.');
const OUTSIDE = [
  ['..', 'shared'].join('/'),
  ['shared', OUTSIDE_FILE].join('/'),
  ['shared', 'facts'].join('/'),
];

const SCANNED = ['README.md', 'docs', 'src', 'config', 'scripts', 'test'];
const SKIPPED = new Set(['node_modules', join('test', 'fixtures')]);

function filesUnder(root: string, path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full) || SKIPPED.has(path) || path.split('/').includes('node_modules')) return [];
  if (!statSync(full).isDirectory()) return [path];
  return readdirSync(full)
    .sort()
    .flatMap((name) => filesUnder(root, join(path, name)));
}

/** Markdown with fenced code blocks and code spans blanked out (lines kept, so line numbers stay right). */
function prose(markdown: string): string {
  return markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '))
    .replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length));
}

/** GitHub's anchors for a Markdown file's headings. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of prose(markdown.replace(/`/g, '')).matchAll(/^#{1,6}\s+(.*?)\s*#*$/gm)) {
    const slug = heading!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    out.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return out;
}

/** Every problem as `file:line: what`. */
export function outOfRepoMentions(root: string): string[] {
  const problems: string[] = [];
  for (const file of SCANNED.flatMap((path) => filesUnder(root, path))) {
    const text = readFileSync(join(root, file), 'utf8');
    if (text.includes('\0')) continue;
    const lineOf = (index: number) => text.slice(0, index).split('\n').length;
    for (const needle of [...OUTSIDE, OUTSIDE_FILE]) {
      for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) {
        problems.push(`${file}:${lineOf(i)}: mentions ${needle}, which is not in the repository`);
      }
    }
    if (!file.endsWith('.md')) continue;
    const body = prose(text);
    const links = [
      ...body.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g),
      ...body.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm),
    ];
    for (const link of links) {
      const target = link[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      const [pathPart, fragment] = target.split('#', 2) as [string, string | undefined];
      const where = `${file}:${lineOf(link.index)}: link ${target}`;
      const resolved = pathPart === '' ? join(root, file) : resolve(root, dirname(file), decodeURI(pathPart));
      const inRepo = relative(root, resolved);
      if (inRepo.startsWith('..') || isAbsolute(inRepo)) {
        problems.push(`${where} leaves the repository`);
      } else if (!existsSync(resolved)) {
        problems.push(`${where} points at nothing`);
      } else if (
        fragment &&
        resolved.endsWith('.md') &&
        !anchors(readFileSync(resolved, 'utf8')).has(fragment)
      ) {
        problems.push(`${where}: no such heading in ${inRepo}`);
      }
    }
  }
  return problems;
}

describe('the repository stands alone', () => {
  test('nothing mentions a file outside the repository, and every Markdown link resolves inside it', () => {
    const problems = outOfRepoMentions(ROOT);
    assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
  });

  test('the check finds what it should (a copy with planted mistakes)', () => {
    const root = mkdtempSync(join(tmpdir(), 'kappa-stands-alone-'));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      write(
        'README.md',
        [
          '# Kappa',
          'See [the contract](../outside.md), [missing](docs/missing.md), [bad anchor](docs/ok.md#nope),',
          '[good](docs/ok.md#the-title), [web](https://temporal.io), [here](#kappa).',
          '```',
          '[in code](../ignored.md)',
          '```',
        ].join('\n'),
      );
      write('docs/ok.md', '# The title\n\n[up](../README.md)\n');
      write('src/x.ts', `// as ${OUTSIDE_FILE} says\n`);
      write('test/fixtures/y.ts', `// ${OUTSIDE[0]}/z\n`);
      assert.deepEqual(outOfRepoMentions(root), [
        'README.md:2: link ../outside.md leaves the repository',
        'README.md:2: link docs/missing.md points at nothing',
        'README.md:2: link docs/ok.md#nope: no such heading in docs/ok.md',
        `src/x.ts:1: mentions ${OUTSIDE_FILE}, which is not in the repository`,
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

/** `kappa [args] --help`, captured: commander writes help synchronously, before main's first await. */
async function help(...args: string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  };
  let exit: Promise<number>;
  try {
    exit = main(['node', 'kappa', ...args, '--help']);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(await exit, 0);
  return out;
}

function section(markdown: string, heading: RegExp): string {
  const start = markdown.search(heading);
  assert.ok(start >= 0, `a section ${heading}`);
  const body = markdown.indexOf('\n', start) + 1;
  const end = markdown.slice(body).search(/^#{2,3} /m);
  return markdown.slice(start, end < 0 ? undefined : body + end);
}

describe('the reference docs name what the code has', () => {
  const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

  test('docs/cli.md: every command, option and default `kappa --help` shows', async () => {
    const doc = read('docs/cli.md');
    const top = await help();
    const globals = section(doc, /^## Global options/m);
    for (const [, flag] of top.split('Commands:')[0]!.matchAll(/^\s+(--[a-z-]+)/gm)) {
      if (flag !== '--help') assert.ok(globals.includes(`\`${flag}`), `global option ${flag}`);
    }
    const commands = [...top.split('Commands:')[1]!.matchAll(/^ {2}([a-z]+)/gm)].map((m) => m[1]!);
    assert.ok(commands.length >= 10, commands.join(' '));
    for (const command of commands.filter((c) => c !== 'help')) {
      const part = section(doc, new RegExp(`^### \`kappa ${command}\\b`, 'm'));
      const text = (await help(command)).replace(/\s+/g, ' ');
      for (const [, flag] of text.matchAll(/ (--[a-z-]+)/g)) {
        if (flag !== '--help') assert.ok(part.includes(`\`${flag}`), `kappa ${command} ${flag}`);
      }
      for (const [, value] of text.matchAll(/\(default: "?([^")]+?)"?\)/g)) {
        assert.ok(part.includes(`\`${value}\``), `kappa ${command}: default ${value}`);
      }
    }
  });

  test('docs/temporal.md: task queue, workflow type, signals, update, query, phases, attributes, failures', () => {
    const doc = read('docs/temporal.md');
    const names = [
      TASK_QUEUE,
      WORKFLOW_TYPE,
      stopSignal.name,
      restartSignal.name,
      deployUpdate.name,
      statusQuery.name,
      ...Object.values(Phase),
      ...Object.keys(SearchAttribute),
      ...Object.values(FailureType),
    ];
    for (const name of names) assert.ok(doc.includes(`\`${name}\``), name);
  });
});
