// The table scripts/bench-seed-vs-kappa.ts prints: per N, a row for the seed and one for Kappa, then what the
// machine carried.
import { percentile } from './edge-meter.js';

export interface Side {
  jvmsPerMin: number;
  jvmCpuPerMin: number;
  edgeCpuPerMin: number;
}
export interface Row {
  n: number;
  seed: Side;
  kappa: Side;
  workerCpuPerMin: number;
  detect: number[];
  resubmit: number[];
  back: number[];
  appsRssGiB: number;
  load: number;
}

export function printTable(rows: Row[], run: { poll: string; window: string; seconds: number }): void {
  const f = (x: number, d = 1) => (Number.isNaN(x) ? '-' : x.toFixed(d));
  const table = [
    [
      'N',
      'who',
      'yarn JVMs/min',
      'yarn JVM CPU s/min',
      'edge CPU s/min',
      'detect p50/p95 s',
      'resubmitted p50/p95 s',
      'Running again p50/p95 s',
    ],
    ...rows.flatMap((r) => [
      [
        String(r.n),
        'seed',
        f(r.seed.jvmsPerMin),
        f(r.seed.jvmCpuPerMin),
        f(r.seed.edgeCpuPerMin),
        '',
        '',
        '',
      ],
      [
        '',
        'Kappa',
        f(r.kappa.jvmsPerMin),
        f(r.kappa.jvmCpuPerMin),
        f(r.kappa.edgeCpuPerMin),
        `${f(percentile(r.detect, 50))} / ${f(percentile(r.detect, 95))}`,
        `${f(percentile(r.resubmit, 50))} / ${f(percentile(r.resubmit, 95))}`,
        `${f(percentile(r.back, 50))} / ${f(percentile(r.back, 95))}`,
      ],
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log(
    `seed vs Kappa on one edge node (real YARN, real yarn CLI, sshd); poll ${run.poll}, window ${run.window}`,
  );
  for (const row of table) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  for (const r of rows) {
    console.log(
      `N=${r.n}: kills ${r.back.length}; Kappa worker CPU ${f(r.workerCpuPerMin, 2)} s/min; Spark JVMs RSS ${f(r.appsRssGiB)} GiB; load ${f(r.load)}`,
    );
  }
  console.log(`one run, ${run.seconds} s`);
}
