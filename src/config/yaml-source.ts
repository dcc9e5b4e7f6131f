// YAML loading that keeps positions, so every config error can say FILE:LINE:COL.
import { readFileSync } from 'node:fs';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Alias,
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

/** Flow collections (`[…]`, `{…}`) nested deeper than this are refused before parsing: no config needs 10. */
const MAX_FLOW_DEPTH = 64;

export function parseYaml(file: string, text: string): YamlSource {
  // The parser slows down sharply with depth (a few thousand `[` take seconds): refuse absurd nesting first.
  const tooDeep = scanFlow(text, text.length, MAX_FLOW_DEPTH).tooDeepAt;
  if (tooDeep !== undefined) {
    const lines = new LineCounter();
    lines.addNewLine(0);
    for (const newline of text.matchAll(/\n/g)) lines.addNewLine(newline.index + 1);
    throw new ConfigError([
      {
        file,
        ...lines.linePos(tooDeep),
        path: [],
        message: `YAML: lists and maps in [ ] or { } nested more than ${MAX_FLOW_DEPTH} deep`,
      },
    ]);
  }
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
  const value = toValue(doc, (offset, message) => new ConfigError([at(offset, { path: [], message })]));
  return { file, value, locate: (issue) => at(offsetOf(doc, issue), issue) };
}

/** Expansions of aliases a config may make; more is a "billion laughs", not a config. */
const MAX_ALIAS_COUNT = 100;

/** The document as plain data; what the YAML library would throw (aliases) becomes a located error. */
function toValue(doc: Document, error: (offset: number, message: string) => ConfigError): unknown {
  const aliases: Alias[] = [];
  let complexKey: Node | undefined;
  visit(doc, {
    Alias: (_key, node) => void aliases.push(node),
    Pair: (_key, pair) => {
      if (pair.key !== null && !isScalar(pair.key)) complexKey ??= pair.key as Node;
    },
  });
  if (complexKey) {
    throw error(complexKey.range?.[0] ?? 0, 'YAML: a key must be a plain value, not a list, map or alias');
  }
  for (const alias of aliases) {
    if (!alias.resolve(doc)) {
      throw error(
        alias.range?.[0] ?? 0,
        `YAML syntax: alias *${alias.source} names no anchor (&${alias.source}) before it`,
      );
    }
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ReferenceError && /alias count/i.test(err.message)) {
      throw error(
        aliases[0]?.range?.[0] ?? 0,
        `YAML: its aliases expand to more than ${MAX_ALIAS_COUNT} copies; write the values out instead`,
      );
    }
    throw err;
  }
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
  const scan = scanFlow(text, end);
  return scan.quoteAt ?? scan.open.at(-1);
}

/**
 * Scans YAML text up to `end` for quotes and flow brackets, outside comments: the quote still open at the end,
 * the brackets still open, and, given `maxDepth`, where the brackets first nest deeper than that.
 */
function scanFlow(
  text: string,
  end: number,
  maxDepth = Infinity,
): { quoteAt?: number; open: number[]; tooDeepAt?: number } {
  const open: number[] = [];
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
    } else if (c === '{' || c === '[') {
      open.push(i);
      if (open.length > maxDepth) return { open, tooDeepAt: i };
    } else if (c === '}' || c === ']') open.pop();
  }
  return { quoteAt: quote?.at, open };
}
