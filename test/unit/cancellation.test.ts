import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { test } from 'node:test';
import { orCancelled } from '../../src/activities/cancellation.js';

class Cancelled extends Error {}

function cancellation() {
  const controller = new AbortController();
  let reactions = 0;
  // Counts how often anyone waits on the cancellation promise: Promise.race would add one per call.
  const cancelled = () => {
    reactions += 1;
    return Promise.reject(new Cancelled('cancelled'));
  };
  return { controller, cancelled, reactions: () => reactions };
}

test('a settled wait leaves nothing behind on the signal or the cancellation promise', async () => {
  const { controller, cancelled, reactions } = cancellation();
  for (let i = 0; i < 1000; i++) {
    assert.equal(await orCancelled(Promise.resolve(i), controller.signal, cancelled), i);
  }
  await assert.rejects(
    orCancelled(Promise.reject(new Error('poll failed')), controller.signal, cancelled),
    /poll failed/,
  );
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  assert.equal(reactions(), 0);
});

test('cancellation while waiting rejects with the cancellation, not the pending work', async () => {
  const { controller, cancelled } = cancellation();
  const waiting = orCancelled(new Promise<number>(() => undefined), controller.signal, cancelled);
  controller.abort();
  await assert.rejects(waiting, Cancelled);
});

test('already cancelled: rejects at once', async () => {
  const { controller, cancelled } = cancellation();
  controller.abort();
  await assert.rejects(orCancelled(Promise.resolve(1), controller.signal, cancelled), Cancelled);
});
