// The fault suite as a table (`npm run faults`): one line per fault with the most live instances the probe saw,
// Kappa's resubmissions, the phase during and after the fault, and the seconds Kappa took to be back to normal.
// The faults and their setup are test/support/fault-harness.ts's, as in test/integration/faults.test.ts.
import { FaultBed, FAULTS, formatTable, runFault, type FaultResult } from '../test/support/fault-harness.js';

async function main() {
  const bed = new FaultBed();
  await bed.start();
  const results: FaultResult[] = [];
  try {
    for (const fault of FAULTS) {
      process.stderr.write(`${fault.name}...\n`);
      results.push(await runFault(bed, fault));
    }
  } finally {
    await bed.stop();
  }
  console.log(formatTable(results));
  const failed = results.filter((r) => r.problems.length > 0);
  for (const r of failed) console.log(`\n${r.fault}:\n  ${r.problems.join('\n  ')}`);
  if (failed.length > 0) {
    console.log(`\nworker logs and the server log: ${bed.dir}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
