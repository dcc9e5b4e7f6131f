// A step's output as it streams in: whole lines for the worker log, a bounded tail for results and failures.

/** Characters of output kept in a step's result or failure. */
export const OUTPUT_TAIL_CHARS = 4_000;

/** Lines shown in a failure message (the rest of the tail is in the failure's details). */
const FAILURE_LINES = 10;

/** Splits a stream of chunks into whole lines; `flush` hands over a last line with no newline. */
export class LineSplitter {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(text: string): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.onLine(line);
  }

  flush(): void {
    if (this.partial) this.onLine(this.partial);
    this.partial = '';
  }
}

/** Keeps the last `max` characters of what is appended. */
export class OutputTail {
  private text = '';

  constructor(private readonly max = OUTPUT_TAIL_CHARS) {}

  append(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.max);
  }

  toString(): string {
    return this.text;
  }
}

/**
 * Lines that say why a JVM or Python tool failed. Java prints the cause first and ~25 stack frames and shutdown-hook
 * lines after it, so the last lines of a failure are never the cause: these are looked for in the whole output.
 */
const CAUSE_LINE = [
  /^Exception in thread "/, // an uncaught Java exception: `Exception in thread "main" java.io.FileNotFoundException: …`
  /^Caused by: /,
  /^\S+ \S+ (ERROR|FATAL) /, // log4j with a timestamp: Spark `26/11/26 09:02:12 ERROR …`, Hadoop `2026-11-26 08:30:29,553 ERROR …`
  /^(ERROR|FATAL|Error|error):? /, // `Error: Failed to load class …` (spark-submit), `ERROR: …`
  /^[\w.$]*(Error|Exception): /, // the last line of a Python traceback, a bare Java exception
];
/** Cause lines kept, and the characters of each. */
const MAX_CAUSES = 3;
const CAUSE_CHARS = 400;

/** The first few distinct cause lines of `text` (see CAUSE_LINE), each cut to a bounded length. */
export function causeLines(text: string): string[] {
  const found: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (!CAUSE_LINE.some((re) => re.test(line))) continue;
    const cut = line.length > CAUSE_CHARS ? `${line.slice(0, CAUSE_CHARS)}…` : line;
    if (!found.includes(cut)) found.push(cut);
    if (found.length === MAX_CAUSES) break;
  }
  return found;
}

/**
 * `; cause:\n<cause lines>; <label>:\n<last lines>` for a failure message, or nothing when there was no output.
 * `full` is the whole output when there is more of it than the tail (the cause may be before the tail).
 */
export function outputEnding(label: string, tail: string, full = tail): string {
  if (!tail) return '';
  const causes = causeLines(full);
  const last = tail.trimEnd().split('\n').slice(-FAILURE_LINES);
  const missing = causes.filter((c) => !last.some((l) => l.startsWith(c.replace(/…$/, ''))));
  const cause = missing.length > 0 ? `; cause:\n${missing.join('\n')}` : '';
  return `${cause}; ${label}:\n${last.join('\n')}`;
}

/** One line for a failed command: its cause lines, then its last lines (`a | b … c | d`), bounded. */
export function failureSummary(text: string, lastLines = 3): string {
  const lines = text
    .trim()
    .split('\n')
    .map((l) => l.trim());
  const last = lines.slice(-lastLines);
  const causes = causeLines(text).filter((c) => !last.includes(c));
  const summary = [causes.join(' | '), last.join(' | ')].filter(Boolean).join(' … ');
  return summary.length > 1_000 ? `${summary.slice(0, 1_000)}…` : summary;
}
