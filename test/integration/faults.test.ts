// The fault suite (issue #9): exactly one instance of the app, whatever dies. Each test injects one fault into a
// running app (real Temporal dev server on a SQLite file, real sshd edge node, real `kappa worker` processes) and
// fails on any probe moment with two live instances, any resubmission a fault does not call for, a wrong phase, or
// no recovery. `npm run faults` prints the same faults as a table.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FaultBed, FAULTS, formatTable, runFault } from '../support/fault-harness.js';

const bed = new FaultBed();

before(() => bed.start());
after(() => bed.stop());

for (const fault of FAULTS) {
  test(fault.name, async (t) => {
    const result = await runFault(bed, fault);
    t.diagnostic(formatTable([result]));
    assert.deepEqual(result.problems, [], `${fault.name}; worker logs and server log in ${bed.dir}`);
  });
}
