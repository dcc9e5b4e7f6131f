// The worker's node flags: bin/kappa's first line (`env -S node FLAGS`, for `kappa` run as a command) and the
// container image's ENTRYPOINT (node run directly) must give the same ones, and node must accept them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';

const ROOT = join(__dirname, '..', '..');

function shebangFlags(): string[] {
  const [first] = readFileSync(join(ROOT, 'bin', 'kappa'), 'utf8').split('\n');
  const match = /^#!\/usr\/bin\/env -S node(?<flags>( --[a-z-]+=\S+)*)$/.exec(first ?? '');
  assert.ok(match, `bin/kappa's first line: ${first}`);
  return match.groups!.flags!.trim().split(' ').filter(Boolean);
}

function entrypointFlags(): string[] {
  const line = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith('ENTRYPOINT '));
  assert.ok(line, 'the Dockerfile has an ENTRYPOINT');
  const argv = JSON.parse(line.slice('ENTRYPOINT '.length)) as string[];
  assert.equal(argv[0], 'node');
  assert.equal(argv.at(-1), 'bin/kappa');
  return argv.slice(1, -1);
}

test('the image runs the worker with the node flags bin/kappa names', () => {
  const flags = shebangFlags();
  assert.ok(flags.includes('--max-semi-space-size=64'), flags.join(' '));
  assert.deepEqual(entrypointFlags(), flags);
});

test('node accepts the flags (a misspelt one would stop the worker from starting)', () => {
  const out = execFileSync(process.execPath, [...shebangFlags(), '-e', 'console.log("ok")'], {
    encoding: 'utf8',
  });
  assert.equal(out.trim(), 'ok');
});
