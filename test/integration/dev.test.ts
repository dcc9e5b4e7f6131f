// `kappa dev`, the README's run command: obtains the Temporal CLI, starts a persistent dev server with the Web
// UI, registers the search attributes, runs a worker, and on Ctrl-C drains the worker and stops the server.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Connection } from '@temporalio/client';
import { isServerReachable, temporalCliPath } from '../../src/temporal/dev-server.js';
import { tempDir, waitFor } from '../support/harness.js';
import { startKappaDev } from '../support/kappa-dev.js';

const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');

test('kappa dev: server with UI and search attributes, a polling worker, clean Ctrl-C', async () => {
  const cache = tempDir('dev-cache');
  // The sandbox (a local YARN) has its own test: test/integration/dev-sandbox.test.ts.
  const { child, output, exited, address, uiPort } = await startKappaDev((address, uiPort) =>
    spawn(KAPPA, ['--address', address, 'dev', '--ui-port', String(uiPort), '--no-sandbox'], {
      cwd: tempDir('dev-cwd'), // no config/worker.yaml here: defaults apply
      env: { ...process.env, KAPPA_CACHE: cache, TEMPORAL_CLI: temporalCliPath() },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  try {
    await waitFor(
      'kappa dev to announce the UI',
      () => output().includes(`Temporal UI at http://localhost:${uiPort}`),
      120_000,
    );

    const ui = await fetch(`http://127.0.0.1:${uiPort}/`);
    assert.equal(ui.status, 200, 'the Web UI answers');
    assert.ok(existsSync(join(cache, 'dev', 'temporal.db')), 'the server persists to the cache');

    const connection = await Connection.connect({ address });
    try {
      const attrs = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      for (const name of ['KappaApp', 'KappaKind', 'KappaPhase', 'KappaRestarts', 'KappaYarnAppId']) {
        assert.ok(name in (attrs.customAttributes ?? {}), `${name} registered`);
      }
    } finally {
      await connection.close();
    }
    await waitFor(
      'a worker polling the kappa task queue',
      () => {
        const out = execFileSync(
          temporalCliPath(),
          ['task-queue', 'describe', '--task-queue', 'kappa', '--address', address, '--output', 'json'],
          { encoding: 'utf8' },
        );
        return /"identity"/.test(out);
      },
      60_000,
    );
  } finally {
    child.kill('SIGINT');
  }
  assert.equal(await exited, 0, output());
  assert.equal(await isServerReachable(address), false, 'the dev server stopped with kappa dev');
});
