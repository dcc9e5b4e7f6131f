// A supervised service's health from its Deployment alone (src/kubernetes/service-health.ts, healthOf): available
// while a replica is, unavailable since when and why, on Deployments as the controller writes them (from a list:
// Dates; from a watch event: RFC 3339 strings).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Deployment } from '@kubernetes/client-node';
import { healthOf } from '../../src/kubernetes/service-health.js';

const T0 = Date.parse('2025-11-25T14:00:00Z');

function deployment(
  available: number,
  extra: Partial<V1Deployment['status']> = {},
  replicas = 2,
): V1Deployment {
  return {
    metadata: { name: 'scorer-model', namespace: 'models', creationTimestamp: new Date(T0 - 60_000) },
    spec: { replicas, selector: {}, template: {} },
    status: { availableReplicas: available, ...extra },
  };
}

const unavailableSince = (at: Date | string) => ({
  conditions: [
    {
      type: 'Available',
      status: 'False',
      reason: 'MinimumReplicasUnavailable',
      message: 'Deployment does not have minimum availability.',
      lastTransitionTime: at as Date,
    },
  ],
});

describe('healthOf', () => {
  test('available while one replica is, even below the minimum', () => {
    assert.deepEqual(healthOf(deployment(2)), { kind: 'available' });
    assert.deepEqual(healthOf(deployment(1, unavailableSince(new Date(T0)))), { kind: 'available' });
    assert.deepEqual(healthOf(deployment(0, {}, 0)), { kind: 'available' }, 'scaled to zero on purpose');
  });

  test('no available replica: unavailable since the condition went False, with the controller reason', () => {
    assert.deepEqual(healthOf(deployment(0, unavailableSince(new Date(T0)))), {
      kind: 'unavailable',
      since: T0,
      reason:
        'Deployment models/scorer-model: no available replica (0/2): MinimumReplicasUnavailable: Deployment does not have minimum availability.',
    });
    const fromWatch = healthOf(deployment(0, unavailableSince('2025-11-25T14:00:00Z')));
    assert.equal(fromWatch.kind === 'unavailable' && fromWatch.since, T0, 'a watch event carries strings');
  });

  test('the watch time wins when given; a Deployment with no condition yet counts from its creation', () => {
    const h = healthOf(deployment(0, unavailableSince(new Date(T0))), T0 + 5_000);
    assert.equal(h.kind === 'unavailable' && h.since, T0 + 5_000);
    assert.deepEqual(healthOf(deployment(0)), {
      kind: 'unavailable',
      since: T0 - 60_000,
      reason: 'Deployment models/scorer-model: no available replica (0/2): no Available condition yet',
    });
  });

  test('being deleted is unavailable from the deletion', () => {
    const d = deployment(2);
    d.metadata!.deletionTimestamp = new Date(T0);
    assert.deepEqual(healthOf(d), {
      kind: 'unavailable',
      since: T0,
      reason: 'Deployment models/scorer-model is being deleted',
    });
  });
});
