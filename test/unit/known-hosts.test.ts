// known_hosts parsing and host key checking, against keys and hashed entries made by the real ssh-keygen.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { checkHostKey, fingerprint, knownKeyTypes, parseKnownHosts } from '../../src/ssh/known-hosts.js';
import { tempDir } from '../support/harness.js';

function makeKey(dir: string, name: string): { blob: Buffer; line: string; fingerprint: string } {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path]);
  const pub = readFileSync(`${path}.pub`, 'utf8').trim();
  const [, b64] = pub.split(' ');
  const sshFingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${path}.pub`], { encoding: 'utf8' }).split(
    ' ',
  )[1]!;
  return {
    blob: Buffer.from(b64!, 'base64'),
    line: pub.split(' ').slice(0, 2).join(' '),
    fingerprint: sshFingerprint,
  };
}

describe('known_hosts', () => {
  const dir = tempDir('known-hosts');
  const a = makeKey(dir, 'a');
  const b = makeKey(dir, 'b');

  test('fingerprints match ssh-keygen -l', () => {
    assert.equal(fingerprint(a.blob), a.fingerprint);
  });

  test('plain entries, [host]:port, comments and several names per line', () => {
    const entries = parseKnownHosts(
      `# comment\nedge-1.example.com,10.0.0.5 ${a.line}\n[127.0.0.1]:2222 ${b.line} comment here\n`,
    );
    assert.equal(checkHostKey(entries, 'edge-1.example.com', 22, a.blob, 'kh').ok, true);
    assert.equal(checkHostKey(entries, '10.0.0.5', 22, a.blob, 'kh').ok, true);
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, b.blob, 'kh').ok, true);
    const wrongPort = checkHostKey(entries, '127.0.0.1', 22, b.blob, 'kh');
    assert.equal(wrongPort.ok === false && wrongPort.reason, 'unknown');
  });

  test('hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'hashed');
    writeFileSync(file, `[127.0.0.1]:2222 ${a.line}\nedge-2 ${b.line}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith('|1|'), 'hashed');
    const entries = parseKnownHosts(text);
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, a.blob, file).ok, true);
    assert.equal(checkHostKey(entries, 'edge-2', 22, b.blob, file).ok, true);
    assert.deepEqual(knownKeyTypes(entries, 'edge-2', 22), ['ssh-ed25519']);
  });

  test('an unknown host and a changed key are refused with messages that say which', () => {
    const entries = parseKnownHosts(`edge-1 ${a.line}\n`);
    const unknown = checkHostKey(entries, 'edge-9', 22, a.blob, '~/.ssh/known_hosts');
    assert.ok(!unknown.ok && unknown.reason === 'unknown');
    assert.match(
      unknown.message,
      /host edge-9 is not in ~\/\.ssh\/known_hosts; its key is ssh-ed25519 SHA256:/,
    );
    const changed = checkHostKey(entries, 'edge-1', 22, b.blob, '~/.ssh/known_hosts');
    assert.ok(!changed.ok && changed.reason === 'changed');
    assert.match(
      changed.message,
      new RegExp(
        `HOST KEY CHANGED for edge-1: .* has ssh-ed25519 ${a.fingerprint.replace(/[+/]/g, '\\$&')} \\(line 1\\), the server offered ssh-ed25519 ${b.fingerprint.replace(/[+/]/g, '\\$&')}`,
      ),
    );
  });

  test('wildcards, negation and @revoked', () => {
    const entries = parseKnownHosts(
      `*.hadoop.example.com,!bad.hadoop.example.com ${a.line}\n@revoked * ${b.line}\n`,
    );
    assert.equal(checkHostKey(entries, 'edge-3.hadoop.example.com', 22, a.blob, 'kh').ok, true);
    const negated = checkHostKey(entries, 'bad.hadoop.example.com', 22, a.blob, 'kh');
    assert.ok(!negated.ok && negated.reason === 'unknown');
    const revoked = checkHostKey(entries, 'edge-3.hadoop.example.com', 22, b.blob, 'kh');
    assert.ok(!revoked.ok && revoked.reason === 'revoked');
  });
});
