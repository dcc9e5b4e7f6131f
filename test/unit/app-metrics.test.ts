// The app's gauges as a supervision sets them (src/activities/app-metrics.ts), on a meter that records every set:
// up from each poll, the last RUNNING and last ended times, Degraded since, the restart budget, and neutral values
// once supervision ends unless the next supervision of the app takes over first.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import type { MetricGauge, MetricMeter, MetricTags } from '@temporalio/common';
import { SupervisionMetrics } from '../../src/activities/app-metrics.js';
import type { SuperviseInput } from '../../src/activities/types.js';
import { Metric } from '../../src/common/metric-names.js';

/** The latest value of every series: `name{tag=value,…}` -> value. */
class RecordingMeter implements MetricMeter {
  readonly values = new Map<string, number>();
  createGauge(name: string): MetricGauge {
    const gauge: MetricGauge = {
      name,
      kind: 'gauge',
      valueType: 'int',
      set: (value: number, tags: MetricTags = {}) => {
        const labels = Object.entries(tags)
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',');
        this.values.set(`${name}{${labels}}`, value);
      },
      withTags: () => gauge,
    };
    return gauge;
  }
  createCounter(): never {
    throw new Error('no counters here');
  }
  createHistogram(): never {
    throw new Error('no histograms here');
  }
  withTags(): MetricMeter {
    return this;
  }
  get(name: string, app = 'fraud', host?: string): number | undefined {
    return this.values.get(`${name}{app=${app}${host ? `,host=${host}` : ''}}`);
  }
}

function input(overrides: Partial<SuperviseInput> = {}): SuperviseInput {
  return {
    app: 'fraud',
    host: 'edge-1',
    appName: 'Fraud',
    kind: 'StreamingApp' as const,
    appId: 'application_1_0001',
    pollIntervalMs: 1_000,
    unreachableTimeoutMs: 60_000,
    ...overrides,
  };
}

const report = (state: string) => ({
  id: 'application_1_0001',
  name: 'Fraud',
  state,
  finalStatus: 'UNDEFINED',
});

describe('the gauges of a supervised app', () => {
  test('up follows RUNNING poll by poll; gone from the live states is an end; a failed poll changes nothing', async () => {
    const meter = new RecordingMeter();
    const metrics = new SupervisionMetrics(meter, 'default', input());
    assert.equal(meter.get(Metric.appSupervised), 1);
    metrics.polled({ startedAt: 1_000_000, apps: [report('ACCEPTED')] });
    assert.equal(meter.get(Metric.appUp), 0, 'ACCEPTED is not running');
    metrics.polled({ startedAt: 2_000_000, apps: [report('RUNNING')] });
    assert.equal(meter.get(Metric.appUp), 1);
    assert.equal(meter.get(Metric.appLastRunning), 2_000);
    metrics.polled({ startedAt: 3_000_000, error: 'edge-1: connection refused' });
    assert.equal(meter.get(Metric.appUp), 1, 'one failed poll is not Degraded yet');
    metrics.polled({ startedAt: 4_000_000, apps: [] });
    assert.equal(meter.get(Metric.appUp), 0);
    await setImmediate();
    assert.equal(meter.get(Metric.appLastEnded), 4_000);
    assert.equal(meter.get(Metric.appLastRunning), 2_000);
    metrics.close();
  });

  test('the last RUNNING time moves at the app poll interval, not at every poll of its host', () => {
    const meter = new RecordingMeter();
    const metrics = new SupervisionMetrics(meter, 'default', input({ pollIntervalMs: 10_000 }));
    const at = (ms: number, state = 'RUNNING') => metrics.polled({ startedAt: ms, apps: [report(state)] });
    at(1_000_000);
    assert.equal(meter.get(Metric.appLastRunning), 1_000);
    at(1_002_000); // a REST host's next poll, 2 s later
    assert.equal(meter.get(Metric.appLastRunning), 1_000);
    at(1_010_000);
    assert.equal(meter.get(Metric.appLastRunning), 1_010);
    at(1_012_000, 'ACCEPTED');
    at(1_014_000); // RUNNING again: shown at once
    assert.equal(meter.get(Metric.appLastRunning), 1_014);
    metrics.close();
  });

  test('an end a stop caused (the workflow says Stopping) is no outage: no end is recorded', async () => {
    const meter = new RecordingMeter();
    let asked = 0;
    const stopping = () => Promise.resolve(++asked > 0);
    const metrics = new SupervisionMetrics(meter, 'default', input({ app: 'stopped' }), stopping);
    metrics.polled({ startedAt: 1_000_000, apps: [report('RUNNING')] });
    metrics.polled({ startedAt: 2_000_000, apps: [] });
    metrics.polled({ startedAt: 3_000_000, apps: [] });
    await setImmediate();
    assert.equal(meter.get(Metric.appUp, 'stopped'), 0);
    assert.equal(meter.get(Metric.appLastEnded, 'stopped'), undefined);
    assert.equal(asked, 1, 'asked once per disappearance');
    metrics.close();
  });

  test('a BatchJob that leaves the live states is not down: no end is recorded', () => {
    const meter = new RecordingMeter();
    const metrics = new SupervisionMetrics(meter, 'default', input({ app: 'billing', kind: 'BatchJob' }));
    metrics.polled({ startedAt: 1_000_000, apps: [] });
    assert.equal(meter.get(Metric.appUp, 'billing'), 0);
    assert.equal(meter.get(Metric.appLastEnded, 'billing'), undefined);
    metrics.close();
  });

  test('Degraded: since when, per edge node, and up 0 (nobody knows whether the app runs)', () => {
    const meter = new RecordingMeter();
    const metrics = new SupervisionMetrics(meter, 'default', input({ degradedSince: 5_000_000 }));
    assert.equal(meter.get(Metric.appDegradedSince, 'fraud', 'edge-1'), 5_000);
    assert.equal(meter.get(Metric.appUp), 0);
    metrics.close();
  });

  test('the restart budget: used and allowed, used back to 0 once resetAfter has passed', () => {
    const meter = new RecordingMeter();
    const now = Date.now();
    const later = new SupervisionMetrics(
      meter,
      'default',
      input({ restartBudget: { used: 4, allowed: 5, resetsAt: now + 3_600_000 } }),
    );
    assert.deepEqual([meter.get(Metric.restartsUsed), meter.get(Metric.restartsAllowed)], [4, 5]);
    later.close();
    const past = new SupervisionMetrics(
      meter,
      'default',
      input({ restartBudget: { used: 4, allowed: 5, resetsAt: now - 1 } }),
    );
    assert.equal(meter.get(Metric.restartsUsed), 0, 'a stable app has earned a fresh budget');
    past.close();
  });

  test('supervision ended: neutral values a few seconds later, unless the next supervision took over', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const meter = new RecordingMeter();
    const first = new SupervisionMetrics(meter, 'default', input({ app: 'handed' }));
    first.polled({ startedAt: 1_000_000, apps: [report('RUNNING')] });
    first.close();
    // The workflow calls again at once (an ACCEPTED/RUNNING or reachability change): no blink to 0.
    const second = new SupervisionMetrics(meter, 'default', input({ app: 'handed' }));
    t.mock.timers.tick(60_000);
    assert.equal(meter.get(Metric.appUp, 'handed'), 1);
    assert.equal(meter.get(Metric.appSupervised, 'handed'), 1);
    first.polled({ startedAt: 2_000_000, apps: [] }); // the old one polls on until it hears it is cancelled
    assert.equal(meter.get(Metric.appUp, 'handed'), 1, 'the newer supervision speaks for the app');
    second.close();
    t.mock.timers.tick(60_000);
    assert.equal(meter.get(Metric.appUp, 'handed'), 0, 'stopped, restarted or moved to another worker');
    assert.equal(meter.get(Metric.appSupervised, 'handed'), 0);
    assert.equal(meter.get(Metric.appLastRunning, 'handed'), 1_000, 'a time of an event stays');
  });
});
