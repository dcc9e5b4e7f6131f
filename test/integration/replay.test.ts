// Replays histories recorded from earlier versions of the app workflow: a change that would break workflows
// already running in production (non-determinism) fails here. Refresh with KAPPA_RECORD_HISTORIES=1 only
// when a change is meant to be incompatible (and then version it with patched()).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { quietRuntime, workflowBundle } from '../support/harness.js';

const dir = join(__dirname, '..', 'fixtures', 'histories');

test('recorded histories replay without non-determinism', async () => {
  quietRuntime();
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 10, `expected recorded histories in ${dir}, found ${files.length}`);
  const histories = files.map((file) => ({
    // The workflow checks its own id (kappa/<name>): give each history back the id it ran under
    // (files are named <id with / as _>-<first 8 of the run id>.json).
    workflowId: file.replace(/-[0-9a-f]{8}\.json$/, '').replace(/^kappa_/, 'kappa/'),
    history: historyFromJSON(JSON.parse(readFileSync(join(dir, file), 'utf8'))),
  }));
  let replayed = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: await workflowBundle() },
    histories,
  )) {
    assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
    replayed++;
  }
  assert.equal(replayed, files.length);
});
