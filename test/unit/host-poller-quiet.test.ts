// The host poller's quiet waiters (a supervision passes over polls that change nothing for it) and quietPoll, the
// supervision's judgement of a poll.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LiveSnapshot } from '../../src/ports.js';
import { quietPoll } from '../../src/activities/supervision-poll.js';
import type { SuperviseInput } from '../../src/activities/types.js';
import { HostPoller } from '../../src/yarn/host-poller.js';
import type { YarnAppReport } from '../../src/yarn/model.js';

const running = (id: string, name = 'Stream'): YarnAppReport => ({
  id,
  name,
  state: 'RUNNING',
  finalStatus: 'UNDEFINED',
});

describe('HostPoller: quiet waiters', () => {
  test('polls a waiter passes over keep it waiting; the first it does not pass over is its answer', async () => {
    let apps: YarnAppReport[] = [running('a1')];
    let polls = 0;
    const poller = new HostPoller(() => {
      polls += 1;
      return Promise.resolve(apps);
    });
    const alive = setInterval(() => undefined, 1_000);
    try {
      const seen: number[] = [];
      const quiet = (s: LiveSnapshot) => {
        seen.push(s.startedAt);
        if (seen.length === 3) apps = []; // the app is gone from the fourth poll on
        return 'apps' in s && s.apps.length === 1;
      };
      const answer = await poller.nextLive(Date.now() - 1, 20, { quiet });
      assert.equal(polls, 4, 'three polls passed over, the fourth answered');
      assert.deepEqual('apps' in answer ? answer.apps : answer, []);
      assert.equal(answer.startedAt, seen[3]);
      assert.deepEqual(
        [...seen].sort((a, b) => a - b),
        seen,
        'each poll seen once, in order',
      );
    } finally {
      clearInterval(alive);
      poller.close();
    }
  });

  test('an aborted waiter leaves the queue: no poll is made for it and its quiet is not called again', async () => {
    let polls = 0;
    const poller = new HostPoller(() => {
      polls += 1;
      return Promise.resolve([running('a1')]);
    });
    const alive = setInterval(() => undefined, 1_000);
    try {
      const controller = new AbortController();
      let calls = 0;
      void poller.nextLive(Date.now() - 1, 20, {
        quiet: () => {
          calls += 1;
          if (calls === 2) controller.abort();
          return true;
        },
        signal: controller.signal,
      });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(calls, 2);
      assert.equal(polls, 2, 'no poll once nobody waits');
    } finally {
      clearInterval(alive);
      poller.close();
    }
  });

  test('a quiet that throws lets the poll through, and a served waiter leaves no abort listener behind', async () => {
    const poller = new HostPoller(() => Promise.resolve([running('a1')]));
    const alive = setInterval(() => undefined, 1_000);
    const controller = new AbortController();
    let listeners = 0;
    const add = controller.signal.addEventListener.bind(controller.signal);
    const remove = controller.signal.removeEventListener.bind(controller.signal);
    controller.signal.addEventListener = (...args: Parameters<typeof add>) => {
      listeners += 1;
      add(...args);
    };
    controller.signal.removeEventListener = (...args: Parameters<typeof remove>) => {
      listeners -= 1;
      remove(...args);
    };
    try {
      const answer = await poller.nextLive(Date.now() - 1, 20, {
        quiet: () => {
          throw new Error('a bug in the caller');
        },
        signal: controller.signal,
      });
      assert.ok('apps' in answer);
      assert.equal(listeners, 0);
    } finally {
      clearInterval(alive);
      poller.close();
    }
  });
});

describe('quietPoll: a poll that changes nothing for a supervision', () => {
  const input = { appId: 'a1', appName: 'Stream', acceptedTimeoutMs: 60_000 } as SuperviseInput;
  const poll = (apps: YarnAppReport[]): LiveSnapshot => ({ startedAt: Date.now(), apps });
  const calm = { aborted: false, services: false };

  test('its app RUNNING as before, alone under its name: quiet', () => {
    assert.equal(quietPoll(input, poll([running('a1'), running('b1', 'Other')]), calm), true);
  });

  test('anything else wakes the supervision', () => {
    assert.equal(quietPoll(input, poll([running('b1', 'Other')]), calm), false, 'gone from the list');
    assert.equal(quietPoll(input, poll([running('a1'), running('a2')]), calm), false, 'another instance');
    const accepted = { ...running('a1'), state: 'ACCEPTED' } as const;
    assert.equal(quietPoll(input, poll([accepted]), calm), false, 'RUNNING -> ACCEPTED');
    const waiting = { ...input, acceptedSince: Date.now() };
    assert.equal(quietPoll(waiting, poll([running('a1')]), calm), false, 'ACCEPTED -> RUNNING');
    assert.equal(quietPoll(waiting, poll([accepted]), calm), true, 'still ACCEPTED, not too long');
    const tooLong = { ...input, acceptedSince: Date.now() - 61_000 };
    assert.equal(quietPoll(tooLong, poll([accepted]), calm), false, 'ACCEPTED too long');
    assert.equal(
      quietPoll(input, { startedAt: Date.now(), error: 'ssh: timeout' }, calm),
      false,
      'a failed poll',
    );
    const degraded = { ...input, degradedSince: Date.now() };
    assert.equal(quietPoll(degraded, poll([running('a1')]), calm), false, 'the edge node was in doubt');
    assert.equal(
      quietPoll(input, poll([running('a1')]), { aborted: true, services: false }),
      false,
      'cancelled',
    );
    assert.equal(
      quietPoll(input, poll([running('a1')]), { aborted: false, services: true }),
      false,
      'services',
    );
  });
});
