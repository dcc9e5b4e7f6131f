// YAML loading that keeps positions, so every config error can say FILE:LINE:COL.
import { readFileSync } from 'node:fs';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type Node,
} from 'yaml';
import { formatIssue, type ConfigIssue } from './issues.js';

export interface Located {
  file: string;
  line: number;
  col: number;
}

export interface LocatedIssue extends ConfigIssue, Located {}

export function formatLocated(issue: LocatedIssue): string {
  return `${issue.file}:${issue.line}:${issue.col}: ${formatIssue(issue)}`;
}

/** A config file that could not be read, parsed or validated; `issues` holds every problem found. */
export class ConfigError extends Error {
  constructor(readonly issues: LocatedIssue[]) {
    super(issues.map(formatLocated).join('\n'));
    this.name = 'ConfigError';
  }
}

export interface YamlSource {
  file: string;
  value: unknown;
  /** Where `issue.path` points in the file, falling back to the nearest enclosing node that exists. */
  locate: (issue: ConfigIssue) => LocatedIssue;
}

export function readYamlFile(file: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError([{ file, line: 1, col: 1, path: [], message: `cannot read: ${reason}` }]);
  }
  return parseYaml(file, text);
}

export function parseYaml(file: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number, issue: ConfigIssue): LocatedIssue => ({
    file,
    ...lineCounter.linePos(offset),
    ...issue,
  });

  if (!Array.isArray(docs)) {
    // An empty stream comes back as an EmptyStream, not an array.
    throw new ConfigError([at(0, { path: [], message: 'empty file: expected a config document' })]);
  }
  const problems = docs.flatMap((doc) =>
    [...doc.errors, ...doc.warnings].filter((e) => e.name === 'YAMLParseError'),
  );
  if (problems.length > 0) {
    throw new ConfigError(
      problems.map((e) => {
        const message = `YAML syntax: ${e.message.split('\n')[0] ?? e.code}`;
        // The parser notices an unclosed quote or bracket where it gives up; point at where it was opened.
        const opened = /closing|end with a/.test(message) ? unclosedOpener(text, e.pos[0]) : undefined;
        return at(opened ?? e.pos[0], {
          path: [],
          message: opened === undefined ? message : `${message} (opened here)`,
        });
      }),
    );
  }
  const [doc, second] = docs;
  if (second) {
    throw new ConfigError([
      at(second.range[0], { path: [], message: 'one config per file: found a second YAML document' }),
    ]);
  }
  if (!doc || doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    throw new ConfigError([at(0, { path: [], message: 'empty file: expected a config document' })]);
  }
  if (!isMap(doc.contents)) {
    throw new ConfigError([
      at(doc.contents.range?.[0] ?? 0, { path: [], message: 'expected a mapping of keys to values' }),
    ]);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  return { file, value, locate: (issue) => at(offsetOf(doc, issue), issue) };
}

function offsetOf(doc: Document, issue: ConfigIssue): number {
  let node: unknown = doc.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (const [i, part] of issue.path.entries()) {
    const last = i === issue.path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part),
      );
      if (!pair) return offset;
      const keyNode = pair.key as Node;
      if (last && issue.atKey) return keyNode.range?.[0] ?? offset;
      node = pair.value;
      offset = (node as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? offset;
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (node === undefined) return offset;
      offset = (node as Node | null)?.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

/** The offset of the quote or flow bracket still open at `end`, scanning plain YAML; undefined if none. */
function unclosedOpener(text: string, end: number): number | undefined {
  const flow: number[] = [];
  let quote: { char: string; at: number } | undefined;
  for (let i = 0; i < end && i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (quote.char === '"' && c === '\\') i++;
      else if (c === quote.char) {
        if (c === "'" && text[i + 1] === "'") i++;
        else quote = undefined;
      }
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < end && text[i] !== '\n') i++;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s:,[{]/.test(text[i - 1]!))) {
      quote = { char: c, at: i };
    } else if (c === '{' || c === '[') flow.push(i);
    else if (c === '}' || c === ']') flow.pop();
  }
  return quote?.at ?? flow.at(-1);
}
