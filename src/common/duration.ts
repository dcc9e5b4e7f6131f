// Durations in configs are strings such as `1h30m`, `10s` or `250ms`; everything internal is milliseconds.

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;

const PART = /(\d+)(ms|d|h|m|s)/y;

/** Parses a duration string; returns undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (text.length === 0) return undefined;
  let total = 0;
  let lastUnitMs = Infinity;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const match = PART.exec(text);
    if (!match) return undefined;
    const unitMs = UNIT_MS[match[2] as Unit];
    // Units must go from large to small, each at most once: `1h30m`, not `30m1h` or `1m1m`.
    if (unitMs >= lastUnitMs) return undefined;
    lastUnitMs = unitMs;
    total += Number(match[1]) * unitMs;
  }
  return total;
}

/** Like parseDuration, for values that were validated already. */
export function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  return ms;
}

/** Formats milliseconds the way configs write them: 5400000 -> `1h30m`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_MS)) {
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}
