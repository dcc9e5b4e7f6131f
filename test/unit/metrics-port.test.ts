// Several workers on one host: a metrics port another process holds stops the worker at start with an error that
// names `metrics.port`, the port and the way out, pointing into the worker config, with the exit code of config
// errors (2). The check runs before any Temporal connection, so no server is needed here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadWorkerConfig } from '../../src/config/worker-config.js';
import { ConfigError, formatLocated } from '../../src/config/yaml-source.js';
import { installRuntime, metricsProblem } from '../../src/observability.js';

const ROOT = join(__dirname, '..', '..');

/** Listens on `host`, on a port the system picks, as another worker's metrics endpoint would. */
function occupy(host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      assert.ok(address && typeof address === 'object');
      resolve({ server, port: address.port });
    });
  });
}

describe('the metrics port', () => {
  let other: { server: Server; port: number };
  const dir = mkdtempSync(join(tmpdir(), 'kappa-metrics-port-'));
  before(async () => (other = await occupy('0.0.0.0')));
  after(() => {
    other.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a free port or port 0 (metrics off) is no problem', async () => {
    const { server, port } = await occupy('127.0.0.1');
    await new Promise((r) => server.close(r));
    assert.equal(await metricsProblem({ port, bindAddress: '127.0.0.1' }), undefined);
    assert.equal(await metricsProblem({ port: 0, bindAddress: '0.0.0.0' }), undefined);
  });

  test('a port in use names metrics.port, the port and the way out', async () => {
    for (const bindAddress of ['0.0.0.0', '127.0.0.1']) {
      assert.deepEqual(await metricsProblem({ port: other.port, bindAddress }), {
        path: ['metrics', 'port'],
        message: `${other.port} is in use on ${bindAddress} (another kappa worker?); give each worker on a host its own metrics.port, or set it to 0 to turn metrics off`,
      });
    }
  });

  test('an address this host does not have names metrics.bindAddress', async () => {
    const problem = await metricsProblem({ port: other.port, bindAddress: '192.0.2.1' }); // TEST-NET-1
    assert.deepEqual(problem?.path, ['metrics', 'bindAddress']);
  });

  test('runWorker fails before connecting to Temporal, pointing at metrics.port in the file', async () => {
    const { runWorker } = await import('../../src/worker.js');
    const file = join(dir, 'worker.yaml');
    writeFileSync(file, `# a second worker\nmetrics: { port: ${other.port} }\n`);
    const config = loadWorkerConfig(file);
    const settings = { address: '127.0.0.1:1', namespace: 'default', taskQueue: 'kappa' };
    await assert.rejects(runWorker(config, settings), (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.deepEqual(err.issues.map(formatLocated), [
        `${file}:2:18: metrics.port: ${other.port} is in use on 0.0.0.0 (another kappa worker?); give each worker on a host its own metrics.port, or set it to 0 to turn metrics off`,
      ]);
      return true;
    });
  });

  test('a port taken after the check: the SDK error becomes the same problem', () => {
    // The port is in use, so Runtime.install fails and installs nothing in this process.
    const problem = installRuntime({ port: other.port, bindAddress: '0.0.0.0' });
    assert.deepEqual(problem?.path, ['metrics', 'port']);
    assert.match(
      problem.message,
      new RegExp(`^${other.port} is in use on 0\\.0\\.0\\.0 \\(another kappa worker\\?\\)`),
    );
  });

  test('`kappa worker` exits 2 with that error', async () => {
    const file = join(dir, 'second-worker.yaml');
    writeFileSync(file, `metrics: { port: ${other.port} }\n`);
    const child = spawn(join(ROOT, 'bin', 'kappa'), ['--worker-config', file, 'worker'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 2, stderr);
    assert.equal(
      stderr.trim(),
      `${file}:1:18: metrics.port: ${other.port} is in use on 0.0.0.0 (another kappa worker?); give each worker on a host its own metrics.port, or set it to 0 to turn metrics off`,
    );
  });
});
