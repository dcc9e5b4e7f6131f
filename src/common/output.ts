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

/** `; <label>:\n<last lines>` for a failure message, or nothing when there was no output. */
export function outputEnding(label: string, tail: string): string {
  if (!tail) return '';
  return `; ${label}:\n${tail.trimEnd().split('\n').slice(-FAILURE_LINES).join('\n')}`;
}
