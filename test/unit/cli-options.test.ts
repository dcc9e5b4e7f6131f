// CLI option parsing: a --timeout that a timer cannot wait for is a usage error, not a timer that fires at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { parseTimeout } from '../../src/cli/options.js';

test('--timeout takes durations a timer can wait for', () => {
  assert.deepEqual(parseTimeout('90s'), { text: '90s', ms: 90_000 });
  assert.deepEqual(parseTimeout('24d'), { text: '24d', ms: 24 * 86_400_000 });
});

test('--timeout refuses what is not a duration, zero, and what would overflow a timer', () => {
  for (const [text, message] of [
    ['soon', /expected a duration/],
    ['0s', /longer than 0s/],
    ['30d', /must be under 24d20h31m23s647ms/],
  ] as const) {
    assert.throws(
      () => parseTimeout(text),
      (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message),
      text,
    );
  }
});
