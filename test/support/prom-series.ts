// Real `/metrics` scrapes turned into what `promtool test rules` reads, and promtool itself (built by
// scripts/ensure-promtool.sh). A recording becomes input series one scrape per step; after the last scrape the
// situation goes on as it was then (gauges hold their values, counters keep their last rate), so rules with
// `for:` and long windows can be evaluated minutes later. Timestamp gauges (`*_timestamp_seconds`) are shifted so
// that the first scrape is promtool's time 0, as `time()` is there.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');

/** The promtool binary (built once; scripts/test.sh builds it before any test runs). */
export function promtoolPath(): string {
  return execFileSync('bash', [join(ROOT, 'scripts', 'ensure-promtool.sh')], { encoding: 'utf8' }).trim();
}

export interface Ran {
  code: number;
  output: string;
}

export async function promtool(...args: string[]): Promise<Ran> {
  try {
    const { stdout, stderr } = await promisify(execFile)(promtoolPath(), args);
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: e.stdout + e.stderr };
  }
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition format: metric types and samples (no timestamps; Temporal's exporter has none). */
export function parseExposition(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { types, samples };
}

/** The metric family of a sample name: histograms expose `_bucket`, `_sum` and `_count`. */
export function familyOf(name: string, types: Map<string, string>): string {
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return base !== name && types.get(base) === 'histogram' ? base : name;
}

/** A series in promtool's notation: `name{a="b",…}`, labels sorted. */
function seriesKey({ name, labels }: Sample): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${pairs.join(',')}}`;
}

export interface Scrape {
  /** When it was taken (epoch ms). */
  at: number;
  text: string;
}

/**
 * promtool `input_series` from scrapes taken `stepMs` apart (scrape i is step i), continued for `continueSteps`
 * steps: gauges held, counters at their rate over the last `rateSteps` scrapes. Only families `keep` accepts.
 */
export function inputSeries(
  scrapes: Scrape[],
  {
    continueSteps,
    keep,
    rateSteps = 5,
  }: { continueSteps: number; keep: (family: string) => boolean; rateSteps?: number },
): { series: string; values: string }[] {
  const t0 = scrapes[0]!.at / 1000;
  const parsed = scrapes.map((s) => parseExposition(s.text));
  const types = new Map(parsed.flatMap((p) => [...p.types]));
  const all = new Map<string, { counter: boolean; timestamp: boolean; values: (number | undefined)[] }>();
  parsed.forEach(({ samples }, step) => {
    for (const sample of samples) {
      const family = familyOf(sample.name, types);
      if (!keep(family)) continue;
      const key = seriesKey(sample);
      let entry = all.get(key);
      if (!entry) {
        const type = types.get(family);
        entry = {
          counter: type === 'counter' || type === 'histogram',
          timestamp: sample.name.endsWith('_timestamp_seconds'),
          values: new Array<number | undefined>(scrapes.length).fill(undefined),
        };
        all.set(key, entry);
      }
      // 0 is "none" for a timestamp gauge; any other time is shifted to promtool's clock.
      entry.values[step] = entry.timestamp && sample.value > 0 ? sample.value - t0 : sample.value;
    }
  });
  return [...all].map(([series, { counter, values }]) => {
    const last = values.at(-1);
    const before = values.at(-1 - rateSteps);
    const slope = counter && last !== undefined && before !== undefined ? (last - before) / rateSteps : 0;
    const recorded = values.map((v) => (v === undefined ? '_' : round(v))).join(' ');
    const tail =
      last === undefined
        ? `_x${continueSteps}`
        : `${round(last + slope)}+${round(slope)}x${continueSteps - 1}`;
    return { series, values: `${recorded} ${tail}` };
  });
}

function round(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toFixed(6)));
}

/** An alerting rule's annotations as Prometheus renders them for `labels` (the rules use `$labels` only). */
export function renderAnnotations(
  annotations: Record<string, string>,
  labels: Record<string, string>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(annotations).map(([k, v]) => [
      k,
      v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? ''),
    ]),
  );
}
