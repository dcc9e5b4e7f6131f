import assert from 'node:assert/strict';
import test from 'node:test';
import { mapInOrder } from '../../src/common/concurrency.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('mapInOrder: results and onResult in the items order, never more than limit in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const seen: number[] = [];
  const results = await mapInOrder(
    [30, 5, 20, 1, 10, 2],
    3,
    async (ms, i) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await delay(ms);
      inFlight--;
      return i * 10;
    },
    (result) => seen.push(result),
  );
  assert.deepEqual(results, [0, 10, 20, 30, 40, 50]);
  assert.deepEqual(seen, [0, 10, 20, 30, 40, 50]);
  assert.equal(most, 3);
});

test('mapInOrder: the first failure rejects once the calls in flight settled, and nothing new starts', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    mapInOrder([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await delay(i === 1 ? 1 : 20);
      settled++;
      if (i === 1) throw new Error('no');
      return i;
    }),
    /no/,
  );
  assert.deepEqual(started, [0, 1]);
  assert.equal(settled, 2);
});

test('mapInOrder: no items, and a bad limit', async () => {
  assert.deepEqual(await mapInOrder([], 4, () => Promise.resolve(1)), []);
  await assert.rejects(
    mapInOrder([1], 0, () => Promise.resolve(1)),
    /limit must be a positive integer/,
  );
});
