// Pre-bundles the workflow code (`npm run bundle`, run by the Dockerfile) so a production worker starts without
// webpack: the worker loads dist/workflow-bundle.js when it is there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../src/worker.js';

async function main() {
  const out = process.argv[2] ?? join(__dirname, '..', 'dist', 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  writeFileSync(out, code);
  console.log(`wrote ${out} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
