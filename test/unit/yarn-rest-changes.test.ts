// A REST host's polls between full lists ask the ResourceManager only what changed (src/yarn/live-changes.ts): the
// pure view, then YarnRest against the REST double (test/support/rest-double.ts, the time filters as the real RM
// applies them) over plain HTTP on loopback, with the apps in the yarn model's state.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { LiveSnapshot, YarnGateway } from '../../src/ports.js';
import { changesPaths, CHANGES_OVERLAP_MS, LiveView } from '../../src/yarn/live-changes.js';
import type { YarnAppReport } from '../../src/yarn/model.js';
import type { RestAnswer, RestTransport } from '../../src/yarn/rest-transport.js';
import { YarnRest } from '../../src/yarn/yarn-rest.js';
import { tempDir } from '../support/harness.js';
import { RestDouble } from '../support/rest-double.js';
import * as model from '../support/yarn-model.cjs';

const app = (id: number, state: string): YarnAppReport => ({
  id: `application_1700000000000_${String(id).padStart(4, '0')}`,
  name: `app-${id}`,
  state,
  finalStatus: model.isLive(state) ? 'UNDEFINED' : 'KILLED',
});
const ids = (apps: YarnAppReport[] | undefined) => apps?.map((a) => `${a.id.slice(-1)} ${a.state}`);

describe('the live view between full lists', () => {
  test('the questions: every waiting app, live apps started since, apps finished since', () => {
    assert.deepEqual(changesPaths(1_700_000_123_456.7), [
      '/ws/v1/cluster/apps?states=SUBMITTED,ACCEPTED',
      '/ws/v1/cluster/apps?states=SUBMITTED,ACCEPTED,RUNNING&startedTimeBegin=1700000123456',
      '/ws/v1/cluster/apps?finishedTimeBegin=1700000123456',
    ]);
  });

  test('changes applied: an app that ended goes, a new one comes, a waiting one moves; asked from the last poll on', () => {
    const view = new LiveView();
    assert.equal(view.canAskChanges(1_000, 10_000), false, 'no full list yet');
    view.full(1_000, [app(1, 'RUNNING'), app(2, 'RUNNING'), app(3, 'RUNNING')]);
    assert.equal(view.canAskChanges(2_000, 10_000), true);
    assert.equal(view.changesSince(), 1_000 - CHANGES_OVERLAP_MS);
    const next = view.apply(3_000, {
      waiting: [app(3, 'ACCEPTED'), app(4, 'ACCEPTED')], // 3: a new attempt of its AM
      started: [app(4, 'ACCEPTED')],
      finished: [app(2, 'KILLED'), app(9, 'FINISHED')], // 9: ended before the full list
    });
    assert.deepEqual(ids(next), ['1 RUNNING', '3 ACCEPTED', '4 ACCEPTED']);
    assert.equal(view.changesSince(), 3_000 - CHANGES_OVERLAP_MS);
    // An app started and ended within one poll: listed live by one question, ended by the last one.
    assert.deepEqual(
      ids(
        view.apply(4_000, {
          waiting: [app(3, 'ACCEPTED'), app(4, 'ACCEPTED')],
          started: [app(5, 'RUNNING')],
          finished: [app(5, 'FAILED')],
        }),
      ),
      ['1 RUNNING', '3 ACCEPTED', '4 ACCEPTED'],
    );
  });

  test('an app that stopped waiting without ending cannot be told apart by changes: a full list is asked', () => {
    const view = new LiveView();
    view.full(1_000, [app(1, 'RUNNING'), app(2, 'ACCEPTED')]);
    assert.equal(view.apply(2_000, { waiting: [], started: [], finished: [] }), undefined);
    // Ended, or started again since (a new attempt listed by the second question): the changes do tell.
    assert.deepEqual(ids(view.apply(2_000, { waiting: [], started: [], finished: [app(2, 'FAILED')] })), [
      '1 RUNNING',
    ]);
  });

  test('nothing changed, nothing new: the same list and the same reports, poll after poll', () => {
    const view = new LiveView();
    const first = view.full(1_000, [app(1, 'RUNNING'), app(2, 'RUNNING')]);
    assert.equal(view.apply(2_000, { waiting: [], started: [app(2, 'RUNNING')], finished: [] }), first);
    assert.equal(view.full(3_000, [app(1, 'RUNNING'), app(2, 'RUNNING')]), first, 'a full list alike');
    const moved = view.full(4_000, [app(1, 'RUNNING'), app(2, 'ACCEPTED')]);
    assert.notEqual(moved, first);
    assert.equal(moved[0], first[0], 'the report that did not change is the one held');
    assert.equal(moved[1]?.state, 'ACCEPTED');
  });

  test('a full list at least once per supervision interval; none asked for changes after a failed poll', () => {
    const view = new LiveView();
    view.full(1_000, [app(1, 'RUNNING')]);
    view.apply(9_000, { waiting: [], started: [], finished: [] });
    assert.equal(view.canAskChanges(10_999, 10_000), true);
    assert.equal(view.canAskChanges(11_000, 10_000), false, 'the full list is an interval old');
    view.forget();
    assert.equal(view.canAskChanges(2_000, 10_000), false);
  });
});

/** GETs on loopback without an edge node (the questions and answers curl would carry); `down`: refused. */
const direct: RestTransport & { down: boolean } = {
  down: false,
  get: (_host, url) =>
    new Promise<RestAnswer>((resolve, reject) => {
      if (direct.down) return reject(new Error(`curl: (7) Failed to connect to ${new URL(url).host}`));
      request(url, { headers: { Accept: 'application/json' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    }),
  getEach: (host, urls, timeoutMs) =>
    Promise.all(urls.map((url) => direct.get(host, url, timeoutMs).catch((err: Error) => err))),
};
const noCli = {} as YarnGateway;
const appsOf = (snap: LiveSnapshot): YarnAppReport[] =>
  'apps' in snap ? snap.apps : assert.fail(snap.error);

describe('YarnRest polls for changes between full lists (REST double)', () => {
  const dir = tempDir('rest-changes');
  const rest = new RestDouble(dir);
  let base = '';
  let alive: NodeJS.Timeout; // the pollers' timers do not hold the process, and the double is away for a while
  before(async () => {
    alive = setInterval(() => undefined, 1_000);
    base = await rest.start();
  });
  after(async () => {
    clearInterval(alive);
    await rest.stop();
  });

  const gateway = (pollIntervalMs: number) =>
    new YarnRest(noCli, {
      'edge-1': { resourceManagers: [base], transport: direct, timeoutMs: 5_000, pollIntervalMs },
    });
  // Requests from the `from`th on, by count: a time would take in one made in the same millisecond before it.
  const kinds = (from: number) =>
    rest.requests
      .slice(from)
      .filter((r) => r.kind !== 'info')
      .map((r) => r.kind);

  test('an app that ends or starts is seen at the next poll for changes; a full list once per interval', async () => {
    const running = model.submit(dir, { name: 'changes-running', state: 'RUNNING' });
    const yarn = gateway(50);
    try {
      const since = rest.requests.length;
      // Supervisions poll every 600 ms: a full list, then changes every 50 ms until the full list is 600 ms old.
      let snap = await yarn.nextLive('edge-1', 600, Date.now());
      assert.ok(appsOf(snap).some((a) => a.id === running.id));
      snap = await yarn.nextLive('edge-1', 600, snap.startedAt);
      assert.deepEqual(kinds(since), ['list', 'changes', 'changes', 'changes']);

      model.kill(dir, running.id);
      const born = model.submit(dir, { name: 'changes-born', state: 'RUNNING' });
      snap = await yarn.nextLive('edge-1', 600, snap.startedAt);
      assert.equal(rest.requests.at(-1)?.kind, 'changes');
      assert.equal(
        appsOf(snap).some((a) => a.id === running.id),
        false,
        'the killed app is gone',
      );
      assert.equal(appsOf(snap).find((a) => a.id === born.id)?.state, 'RUNNING', 'the new app is there');

      const until = Date.now() + 1_000;
      while (Date.now() < until) snap = await yarn.nextLive('edge-1', 600, snap.startedAt);
      const polls = kinds(since).filter((k) => k === 'list').length;
      assert.ok(polls >= 2 && polls <= 4, `full lists in ~1.2 s at a 600 ms interval: ${polls}`);
    } finally {
      yarn.close();
    }
  });

  test('an existence check always lists in full; so does the poll after one that failed', async () => {
    const yarn = gateway(50);
    try {
      let snap = await yarn.nextLive('edge-1', 60_000, Date.now());
      snap = await yarn.nextLive('edge-1', 60_000, snap.startedAt);
      const since = rest.requests.length;
      await yarn.listLive('edge-1');
      assert.deepEqual(kinds(since), ['list']);

      direct.down = true;
      snap = await yarn.nextLive('edge-1', 60_000, Date.now());
      assert.match('error' in snap ? snap.error : '', /no ResourceManager answered/);
      direct.down = false;
      const back = rest.requests.length;
      snap = await yarn.nextLive('edge-1', 60_000, snap.startedAt);
      snap = await yarn.nextLive('edge-1', 60_000, snap.startedAt);
      assert.deepEqual(kinds(back), ['list', 'changes', 'changes', 'changes']);
    } finally {
      direct.down = false;
      yarn.close();
    }
  });

  test('an app just submitted is seen ACCEPTED, then RUNNING, by polls for changes', async () => {
    const yarn = gateway(50);
    try {
      const waiting = model.submit(dir, { name: 'changes-waiting' }); // ACCEPTED, RUNNING 300 ms later
      let snap = await yarn.nextLive('edge-1', 60_000, Date.now());
      assert.equal(appsOf(snap).find((a) => a.id === waiting.id)?.state, 'ACCEPTED');
      const since = rest.requests.length;
      while (appsOf(snap).find((a) => a.id === waiting.id)?.state !== 'RUNNING') {
        snap = await yarn.nextLive('edge-1', 60_000, snap.startedAt);
      }
      assert.ok(kinds(since).length > 0);
      assert.ok(
        kinds(since).every((k) => k === 'changes'),
        'it started within the overlap: the second question lists it with its state',
      );
    } finally {
      yarn.close();
    }
  });
});
