// Limits on durations and counts (src/config/limits.ts): `kappa validate` refuses values below a minimum with
// FILE:LINE:COL, the field and the reason; the workflow's own check refuses only 0 and values above a maximum, so
// tests may poll every 250 ms; no maximum exceeds what a Node timer can wait; the worker config has limits too.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { durationMs } from '../../src/common/duration.js';
import { boundedDuration, MAX_TIMER_MS } from '../../src/config/fields.js';
import { APP_DURATION_LIMITS, WORKER_LIMITS } from '../../src/config/limits.js';
import { loadAppText } from '../../src/config/load.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { loadWorkerConfig } from '../../src/config/worker-config.js';
import { ConfigError, formatLocated } from '../../src/config/yaml-source.js';

const APP = `apiVersion: kappa/v1
kind: StreamingApp
metadata: { name: limits }
spec:
  yarn:
    host: local
    appName: LimitsApp
    pollInterval: 10s
    unreachableTimeout: 15m
    appearTimeout: 5m
  restartPolicy:
    backoff: { initial: 30s, factor: 2, max: 10m }
    resetAfter: 1h
  steps:
    - name: submit
      pod: { image: spark:3.5, timeout: 30m }
    - name: notify
      ssh: { host: local, command: [echo, hi], timeout: 10m }
`;

/** What `kappa validate` says about APP with `key: value` replaced by `key: to`, as FILE:LINE:COL lines. */
function validate(from: string, to: string): string[] {
  assert.ok(APP.includes(from), from);
  try {
    loadAppText('app.yaml', APP.replace(from, to));
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map(formatLocated);
  }
}

const BELOW_MIN: [field: string, from: string, to: string, path: string, limits: { min: string }][] = [
  [
    'pollInterval',
    'pollInterval: 10s',
    'pollInterval: 1ms',
    'spec.yarn.pollInterval',
    APP_DURATION_LIMITS.pollInterval,
  ],
  [
    'unreachableTimeout',
    'unreachableTimeout: 15m',
    'unreachableTimeout: 30s',
    'spec.yarn.unreachableTimeout',
    APP_DURATION_LIMITS.unreachableTimeout,
  ],
  [
    'appearTimeout',
    'appearTimeout: 5m',
    'appearTimeout: 2s',
    'spec.yarn.appearTimeout',
    APP_DURATION_LIMITS.appearTimeout,
  ],
  [
    'backoff.initial',
    'initial: 30s',
    'initial: 100ms',
    'spec.restartPolicy.backoff.initial',
    APP_DURATION_LIMITS.backoffInitial,
  ],
  [
    'resetAfter',
    'resetAfter: 1h',
    'resetAfter: 5s',
    'spec.restartPolicy.resetAfter',
    APP_DURATION_LIMITS.resetAfter,
  ],
  [
    'pod timeout',
    'timeout: 30m',
    'timeout: 5s',
    'spec.steps[0].pod.timeout',
    APP_DURATION_LIMITS.podStepTimeout,
  ],
  [
    'ssh timeout',
    'timeout: 10m',
    'timeout: 500ms',
    'spec.steps[1].ssh.timeout',
    APP_DURATION_LIMITS.sshStepTimeout,
  ],
];

describe('kappa validate refuses durations below their minimum', () => {
  test('the example itself is valid', () => assert.deepEqual(validate('', ''), []));

  for (const [field, from, to, path, limits] of BELOW_MIN) {
    test(field, () => {
      const value = to.split(': ')[1]!;
      const text = APP.replace(from, to);
      const before = text.slice(0, text.indexOf(to) + to.indexOf(value)).split('\n');
      const position = `${before.length}:${before.at(-1)!.length + 1}`;
      const lines = validate(from, to);
      assert.ok(
        lines.some((l) => l.startsWith(`app.yaml:${position}: ${path}: must be at least ${limits.min}: `)),
        lines.join('\n'),
      );
    });
  }

  test('a poll every millisecond, as the issue saw it', () => {
    assert.deepEqual(validate('pollInterval: 10s', 'pollInterval: 1ms'), [
      'app.yaml:8:19: spec.yarn.pollInterval: must be at least 1s: each poll starts a `yarn` JVM on the edge node',
    ]);
  });

  test('unreachableTimeout shorter than two polls', () => {
    const lines = validate('pollInterval: 10s', 'pollInterval: 10m');
    assert.deepEqual(lines, [
      'app.yaml:9:25: spec.yarn.unreachableTimeout: must be at least twice yarn.pollInterval (10m): two failed polls make the edge node count as unreachable',
    ]);
  });

  test('the workflow (and the tests) accept fast timings; 0 and values above a maximum never', () => {
    const config = (yarn: object, restartPolicy: object = {}) =>
      validateAppConfig({
        apiVersion: 'kappa/v1',
        kind: 'StreamingApp',
        metadata: { name: 'fast' },
        spec: {
          yarn: { host: 'local', appName: 'Fast', ...yarn },
          restartPolicy,
          steps: [{ name: 's', ssh: { host: 'local', command: ['true'], timeout: '1s' } }],
        },
      });
    assert.ok(
      config({ pollInterval: '250ms', unreachableTimeout: '1s' }, { backoff: { initial: '100ms' } }).ok,
    );
    assert.equal(config({ pollInterval: '0s' }).ok, false);
    assert.equal(config({ unreachableTimeout: '99999999999h' }).ok, false);
  });
});

describe('no config duration outlasts a Node timer', () => {
  test(`every maximum is below ${MAX_TIMER_MS} ms (about 24.8 days)`, () => {
    for (const [name, limits] of Object.entries({ ...APP_DURATION_LIMITS, ...WORKER_LIMITS })) {
      if (!('max' in limits) || typeof limits.max !== 'string') continue;
      assert.ok(durationMs(limits.max) < MAX_TIMER_MS, name);
      assert.ok(durationMs(limits.min) <= durationMs(limits.max), name);
    }
  });

  test('a bounded duration cannot be declared with a maximum past the timer limit', () => {
    const limits = { min: '1s', belowMin: 'x', max: '25d', aboveMax: 'y' };
    assert.throws(() => boundedDuration(limits, { enforceMin: true }), /max < 2147483647 ms/);
    assert.throws(() => boundedDuration({ ...limits, min: '0s', max: '1h' }, { enforceMin: true }));
  });

  test('a huge number of days is refused, not overflowed', () => {
    const lines = validate('resetAfter: 1h', `resetAfter: ${'9'.repeat(400)}d`);
    assert.match(lines.join('\n'), /spec\.restartPolicy\.resetAfter: must be at most 7d/);
  });
});

describe('worker config limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kappa-limits-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const load = (text: string): string[] => {
    const file = join(dir, 'worker.yaml');
    writeFileSync(file, text);
    try {
      loadWorkerConfig(file);
      return [];
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return err.issues.map((i) => formatLocated({ ...i, file: 'worker.yaml' }));
    }
  };

  test('config/worker.yaml and the defaults are within them', () => {
    assert.deepEqual(load('metrics: { port: 9464, bindAddress: 127.0.0.1 }\nshutdownGraceTime: 30s\n'), []);
    assert.equal(
      loadWorkerConfig(join(__dirname, '..', '..', 'config', 'worker.yaml')).metrics.bindAddress,
      '0.0.0.0',
    );
  });

  for (const [name, text, expected] of [
    [
      'zero grace time',
      'shutdownGraceTime: 0s\n',
      /^worker\.yaml:1:20: shutdownGraceTime: must be greater than 0$/,
    ],
    [
      'grace time above an hour',
      'shutdownGraceTime: 2h\n',
      /^worker\.yaml:1:20: shutdownGraceTime: must be at most 1h: /,
    ],
    [
      'grace time below a second',
      'shutdownGraceTime: 10ms\n',
      /^worker\.yaml:1:20: shutdownGraceTime: must be at least 1s: /,
    ],
    [
      'too many activity slots',
      'maxConcurrentActivities: 1000000\n',
      /^worker\.yaml:1:26: maxConcurrentActivities: expected number <= 100000: /,
    ],
    [
      'a cache of one',
      'maxCachedWorkflows: 1\n',
      /^worker\.yaml:1:21: maxCachedWorkflows: must be 0 \(no cache\) or at least 2/,
    ],
    [
      'a huge cache',
      'maxCachedWorkflows: 50000\n',
      /^worker\.yaml:1:21: maxCachedWorkflows: expected number <= 20000: /,
    ],
    [
      'a host name as the metrics address',
      'metrics: { bindAddress: localhost }\n',
      /^worker\.yaml:1:25: metrics\.bindAddress: must be an IP address/,
    ],
  ] as const) {
    test(name, () => {
      const lines = load(text);
      assert.ok(
        lines.some((l) => expected.test(l)),
        lines.join('\n'),
      );
    });
  }
});
