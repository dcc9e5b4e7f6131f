// The table scripts/bench-seed-vs-kappa.ts prints: per N, a row for the seed and one for Kappa, then what the
// machine carried.
import { percentile } from './edge-meter.js';

export interface Side {
  /** Median wall time of one `yarn` call. */
  callSeconds: number;
  jvmsPerMin: number;
  jvmCpuPerMin: number;
  edgeCpuPerMin: number;
}
export interface Row {
  n: number;
  seed: Side;
  kappa: Side;
  workerCpuPerMin: number;
  clusterCpuPerMin: number;
  detect: number[];
  resubmit: number[];
  back: number[];
  appsRssGiB: number;
  load: number;
}

export function printTable(rows: Row[], run: { poll: string; window: string; seconds: number }): void {
  const f = (x: number, d = 1) => (Number.isNaN(x) ? '-' : x.toFixed(d));
  const side = (n: string, who: string, x: Side) => [
    n,
    who,
    f(x.jvmsPerMin),
    f(x.jvmCpuPerMin),
    f(x.edgeCpuPerMin),
    f(x.callSeconds),
  ];
  const pair = (xs: number[]) => `${f(percentile(xs, 50))} / ${f(percentile(xs, 95))}`;
  const table = [
    [
      'N',
      'who',
      'yarn JVMs/min',
      'yarn JVM CPU s/min',
      'edge CPU s/min',
      'yarn call s (p50)',
      'detect p50/p95 s',
      'resubmitted p50/p95 s',
      'Running again p50/p95 s',
    ],
    ...rows.flatMap((r) => [
      [...side(String(r.n), 'seed', r.seed), '', '', ''],
      [...side('', 'Kappa', r.kappa), pair(r.detect), pair(r.resubmit), pair(r.back)],
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log(
    `seed vs Kappa on one edge node (real YARN, real yarn CLI, sshd); poll ${run.poll}, window ${run.window}`,
  );
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const r of rows) {
    console.log(
      `N=${r.n}: ${r.back.length} kills; Kappa worker (Node) CPU ${f(r.workerCpuPerMin, 2)} s/min; YARN (RM, NodeManager, Spark JVMs) CPU ${f(r.clusterCpuPerMin)} s/min, RSS ${f(r.appsRssGiB)} GiB; load average ${f(r.load)}`,
    );
  }
  console.log(`one run, ${run.seconds} s`);
}
