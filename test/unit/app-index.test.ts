import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appById, appsNamed } from '../../src/yarn/app-index.js';
import type { YarnAppReport } from '../../src/yarn/model.js';

const app = (id: string, name: string): YarnAppReport => ({
  id,
  name,
  state: 'RUNNING',
  finalStatus: 'UNDEFINED',
});

test('looks apps up by id and by name, in list order, per list', () => {
  const first = [
    app('application_1_0001', 'a'),
    app('application_1_0002', 'b'),
    app('application_1_0003', 'a'),
  ];
  assert.equal(appById(first, 'application_1_0002')?.name, 'b');
  assert.equal(appById(first, 'application_1_0009'), undefined);
  assert.deepEqual(
    appsNamed(first, 'a').map((a) => a.id),
    ['application_1_0001', 'application_1_0003'],
  );
  assert.deepEqual(appsNamed(first, 'c'), []);
  // Another poll's list is indexed on its own, never answered from an earlier one.
  const second = [app('application_1_0003', 'a')];
  assert.equal(appById(second, 'application_1_0001'), undefined);
  assert.deepEqual(
    appsNamed(second, 'a').map((a) => a.id),
    ['application_1_0003'],
  );
});
