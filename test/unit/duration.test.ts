import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from '../../src/common/duration.js';
import { DURATION_PATTERN } from '../../src/config/fields.js';
import { shellJoin, shellQuote } from '../../src/common/shell-quote.js';

test('durations parse as the configs write them', () => {
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('10s'), 10_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1m30s500ms'), 90_500);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('0s'), 0);
});

test('anything else is not a duration', () => {
  for (const bad of ['', '10', 's', '1.5h', '10 s', '-5s', '30m1h', '1m1m', '10sec', '1H', 'ms10', ' 1s']) {
    assert.equal(parseDuration(bad), undefined, JSON.stringify(bad));
  }
});

test('the config pattern accepts exactly what parseDuration parses', () => {
  const corpus = [
    '1h30m',
    '10s',
    '250ms',
    '1m30s500ms',
    '2d',
    '0s',
    '',
    '10',
    's',
    '1.5h',
    '10 s',
    '30m1h',
    '1m1m',
    '10sec',
    '1H',
    'ms10',
    '5m5ms',
    '1d1h1m1s1ms',
    '1ms1s',
  ];
  for (const text of corpus)
    assert.equal(DURATION_PATTERN.test(text), parseDuration(text) !== undefined, JSON.stringify(text));
});

test('formatDuration round-trips', () => {
  for (const text of ['1h30m', '10s', '250ms', '2d3h', '1m30s500ms'])
    assert.equal(formatDuration(parseDuration(text)!), text);
  assert.equal(formatDuration(0), '0s');
});

test('shell quoting: sh reads back exactly the argv', async () => {
  const { execFileSync } = await import('node:child_process');
  const argv = [
    'hdfs',
    'dfs',
    '-touchz',
    '/flags/x y',
    "it's",
    '$HOME',
    '`id`',
    'a"b',
    '',
    'new\nline',
    '*',
    ';rm -rf /',
  ];
  const script = `for a in ${shellJoin(argv)}; do printf '%s\\0' "$a"; done`;
  const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
  assert.deepEqual(out.split('\0').slice(0, -1), argv);
  assert.equal(shellQuote('plain-arg_1.jar'), 'plain-arg_1.jar');
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
