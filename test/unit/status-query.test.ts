// `queryAppStatus` (src/cli/app-status.ts): a status query that timed out is asked once more, anything else fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceError } from '@temporalio/client';
import { queryAppStatus, type AppWorkflowHandle } from '../../src/cli/app-status.js';
import type { AppStatus } from '../../src/workflows/types.js';

const ANSWER = { app: 'a', phase: 'Stopped' } as AppStatus;

/** A handle whose queries fail with `failures` in turn, then answer. */
function handle(failures: Error[]): { handle: AppWorkflowHandle; asked: () => number } {
  let asked = 0;
  const query = () => {
    const failure = failures[asked++];
    return failure ? Promise.reject(failure) : Promise.resolve(ANSWER);
  };
  return { handle: { query } as unknown as AppWorkflowHandle, asked: () => asked };
}

const timedOut = () =>
  new ServiceError('Failed to query Workflow', {
    cause: Object.assign(new Error('4 DEADLINE_EXCEEDED: query timed out before a worker could process it'), {
      code: 4,
    }),
  });

test('a query that timed out is asked again and its answer returned', async () => {
  const h = handle([timedOut()]);
  assert.equal(await queryAppStatus(h.handle), ANSWER);
  assert.equal(h.asked(), 2);
});

test('a second timeout is not hidden', async () => {
  const h = handle([timedOut(), timedOut()]);
  await assert.rejects(queryAppStatus(h.handle), ServiceError);
  assert.equal(h.asked(), 2);
});

test('other failures are not asked again', async () => {
  const notFound = new ServiceError('workflow not found', {
    cause: Object.assign(new Error('5 NOT_FOUND'), { code: 5 }),
  });
  const h = handle([notFound]);
  await assert.rejects(queryAppStatus(h.handle), /workflow not found/);
  assert.equal(h.asked(), 1);
});
