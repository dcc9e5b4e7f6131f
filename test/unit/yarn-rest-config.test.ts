// The worker config's `yarnApi` / `yarnRest` (reading YARN through the ResourceManager REST API): defaults, and
// every rule as `file:line:col: field: message`, pointing at the value that breaks it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadWorkerConfig, type WorkerConfig } from '../../src/config/worker-config.js';
import { ConfigError, formatLocated } from '../../src/config/yaml-source.js';

const dir = mkdtempSync(join(tmpdir(), 'kappa-yarn-rest-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The worker config with one host whose extra lines are `lines` (indented under it). */
function load(lines: string[]): { config?: WorkerConfig; errors: string[] } {
  const file = join(dir, 'worker.yaml');
  writeFileSync(
    file,
    [
      'hosts:',
      '  edge-1:',
      '    host: edge-1.example.com',
      '    username: spark',
      ...lines.map((l) => `    ${l}`),
    ]
      .join('\n')
      .concat('\n'),
  );
  try {
    return { config: loadWorkerConfig(file), errors: [] };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { errors: err.issues.map((i) => formatLocated({ ...i, file: 'worker.yaml' })) };
  }
}

describe('hosts.<name>.yarnApi and yarnRest', () => {
  test('the yarn CLI by default; rest with its defaults (via curl, no Kerberos, polls every 2s)', () => {
    assert.equal(load([]).config?.hosts['edge-1']?.yarnApi, 'cli');
    assert.equal(load([]).config?.hosts['edge-1']?.yarnRest, undefined);
    const { config, errors } = load(['yarnApi: rest', 'yarnRest:', '  resourceManagers: [http://rm1:8088]']);
    assert.deepEqual(errors, []);
    assert.deepEqual(config?.hosts['edge-1']?.yarnRest, {
      resourceManagers: ['http://rm1:8088'],
      via: 'curl',
      kerberos: false,
      pollInterval: '2s',
    });
  });

  test('HA: several addresses, http or https, with a path (a gateway); tunnel; Kerberos with curl', () => {
    const ha = load([
      'yarnApi: rest',
      'yarnRest:',
      '  resourceManagers: [http://rm1:8088, https://rm2.example.com:8090/, https://knox/gateway/rm]',
      '  via: tunnel',
      '  pollInterval: 1s',
    ]);
    assert.deepEqual(ha.errors, []);
    assert.equal(ha.config?.hosts['edge-1']?.yarnRest?.via, 'tunnel');
    const kerberos = load([
      'yarnApi: rest',
      'yarnRest: { resourceManagers: [http://rm1:8088], kerberos: true }',
    ]);
    assert.deepEqual(kerberos.errors, []);
  });

  for (const [name, lines, expected] of [
    [
      'rest without yarnRest',
      ['yarnApi: rest'],
      [
        "worker.yaml:5:14: hosts.edge-1.yarnApi: rest needs yarnRest.resourceManagers: the ResourceManagers' web addresses",
      ],
    ],
    [
      'yarnRest without yarnApi: rest',
      ['yarnRest:', '  resourceManagers: [http://rm1:8088]'],
      [
        'worker.yaml:6:7: hosts.edge-1.yarnRest: is used only with yarnApi: rest, and yarnApi is cli (the default); add yarnApi: rest or remove yarnRest',
      ],
    ],
    [
      'yarnRest with yarnApi: cli',
      ['yarnApi: cli', 'yarnRest: { resourceManagers: [http://rm1:8088] }'],
      [
        'worker.yaml:6:15: hosts.edge-1.yarnRest: is used only with yarnApi: rest, and yarnApi is cli (the default); add yarnApi: rest or remove yarnRest',
      ],
    ],
    [
      'no ResourceManager',
      ['yarnApi: rest', 'yarnRest: { resourceManagers: [] }'],
      ['worker.yaml:6:35: hosts.edge-1.yarnRest.resourceManagers: must list at least one ResourceManager'],
    ],
    [
      'resourceManagers missing',
      ['yarnApi: rest', 'yarnRest: { via: curl }'],
      ['worker.yaml:6:15: hosts.edge-1.yarnRest.resourceManagers: required (expected array)'],
    ],
    [
      'not http(s) URLs',
      ['yarnApi: rest', 'yarnRest:', '  resourceManagers: [rm1:8088, ftp://rm2/]'],
      [
        'worker.yaml:7:26: hosts.edge-1.yarnRest.resourceManagers[0]: expected an http:// or https:// URL',
        'worker.yaml:7:36: hosts.edge-1.yarnRest.resourceManagers[1]: expected an http:// or https:// URL',
      ],
    ],
    [
      'a duplicate, with or without the trailing slash',
      [
        'yarnApi: rest',
        'yarnRest:',
        '  resourceManagers:',
        '    - http://rm1:8088',
        '    - http://rm2:8088',
        '    - http://rm1:8088/',
      ],
      [
        'worker.yaml:10:11: hosts.edge-1.yarnRest.resourceManagers[2]: the same address as resourceManagers[0]',
      ],
    ],
    [
      'credentials, a query',
      [
        'yarnApi: rest',
        'yarnRest:',
        '  resourceManagers: [http://admin:secret@rm1:8088, http://rm2:8088/?user.name=x]',
      ],
      [
        'worker.yaml:7:26: hosts.edge-1.yarnRest.resourceManagers[0]: must not hold credentials (kerberos: true uses the ticket cache instead)',
        'worker.yaml:7:56: hosts.edge-1.yarnRest.resourceManagers[1]: must not have a query or fragment: the web address only (e.g. http://rm1:8088)',
      ],
    ],
    [
      'Kerberos over a tunnel',
      [
        'yarnApi: rest',
        'yarnRest:',
        '  resourceManagers: [http://rm1:8088]',
        '  via: tunnel',
        '  kerberos: true',
      ],
      [
        "worker.yaml:9:17: hosts.edge-1.yarnRest.kerberos: needs via: curl (a tunnel has no Kerberos ticket; curl uses the edge node's)",
      ],
    ],
    [
      'an unknown via, a poll interval below 1s, an unknown key',
      [
        'yarnApi: rest',
        'yarnRest:',
        '  resourceManagers: [http://rm1:8088]',
        '  via: ssh',
        '  pollInterval: 500ms',
        '  user: x',
      ],
      [
        'worker.yaml:8:12: hosts.edge-1.yarnRest.via: expected "curl" | "tunnel"',
        'worker.yaml:9:21: hosts.edge-1.yarnRest.pollInterval: must be at least 1s: each poll is still a request to the ResourceManager (and a curl on the edge node)',
        'worker.yaml:10:7: hosts.edge-1.yarnRest.user: unknown key',
      ],
    ],
    [
      'an unknown yarnApi',
      ['yarnApi: http'],
      ['worker.yaml:5:14: hosts.edge-1.yarnApi: expected "cli" | "rest"'],
    ],
  ] as const) {
    test(name, () => {
      assert.deepEqual(load([...lines]).errors, [...expected]);
    });
  }
});
