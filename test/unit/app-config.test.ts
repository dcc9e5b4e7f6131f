// App config validation: the examples pass; malformed configs fail with FILE:LINE:COL, the field path and a
// message. Expected positions are found independently: the first occurrence of `at` in the YAML text.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadAppFiles } from '../../src/config/load.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { ConfigError, formatLocated, parseYaml, type LocatedIssue } from '../../src/config/yaml-source.js';
import { loadWorkerConfig } from '../../src/config/worker-config.js';

const APPS = join(__dirname, '..', '..', 'config', 'apps');

const BASE = `apiVersion: kappa/v1
kind: StreamingApp
metadata:
  name: roaming
  labels: { team: telecom }
spec:
  yarn:
    host: local
    appName: RoamingApp
    pollInterval: 10s
  restartPolicy:
    maxRestarts: 3
    backoff: { initial: 30s, factor: 2, max: 10m }
    resetAfter: 1h
  steps:
    - name: build-and-submit
      pod:
        image: spark:3.5
        env: { HADOOP_CONF_DIR: /etc/hadoop/conf }
        initContainers:
          - name: build
            image: sbt:1.7
    - name: notify
      ssh: { host: local, command: [echo, hi] }
`;

/** Issues for a YAML text, as `kappa validate` reports them. */
function issuesFor(text: string, knownHosts?: string[]): LocatedIssue[] {
  try {
    const source = parseYaml('app.yaml', text);
    const result = validateAppConfig(source.value, { knownHosts });
    return result.ok ? [] : result.issues.map((i) => source.locate(i));
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

function positionOf(text: string, at: string): string {
  const offset = text.indexOf(at);
  assert.ok(offset >= 0, `anchor ${JSON.stringify(at)} not in the YAML`);
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

interface Case {
  name: string;
  /** Edits of BASE ([from, to] pairs), or a whole text. */
  edit?: [string, string][];
  text?: string;
  path: string;
  /** Where the error must point: the first occurrence of this text. */
  at: string;
  message: RegExp;
  knownHosts?: string[];
}

const CASES: Case[] = [
  {
    name: 'wrong type: string for a number',
    edit: [['maxRestarts: 3', 'maxRestarts: "three"']],
    path: 'spec.restartPolicy.maxRestarts',
    at: '"three"',
    message: /expected number, received string/,
  },
  {
    name: 'negative maxRestarts',
    edit: [['maxRestarts: 3', 'maxRestarts: -1']],
    path: 'spec.restartPolicy.maxRestarts',
    at: '-1',
    message: /expected number >= 0/,
  },
  {
    name: 'fractional maxRestarts',
    edit: [['maxRestarts: 3', 'maxRestarts: 1.5']],
    path: 'spec.restartPolicy.maxRestarts',
    at: '1.5',
    message: /expected int/,
  },
  {
    name: 'backoff factor below 1',
    edit: [['factor: 2', 'factor: 0.5']],
    path: 'spec.restartPolicy.backoff.factor',
    at: '0.5',
    message: /^expected number >= 1$/,
  },
  {
    name: 'unknown top-level key',
    edit: [['kind: StreamingApp', 'kind: StreamingApp\nstatus: {}']],
    path: 'status',
    at: 'status',
    message: /unknown key/,
  },
  {
    name: 'unknown key in an ssh step',
    edit: [['command: [echo, hi] }', 'command: [echo, hi], timout: 5m }']],
    path: 'spec.steps[1].ssh.timout',
    at: 'timout',
    message: /unknown key/,
  },
  {
    name: 'misspelt spec key',
    edit: [['  restartPolicy:', '  restartPolicies:']],
    path: 'spec.restartPolicies',
    at: 'restartPolicies',
    message: /unknown key/,
  },
  {
    name: 'duration as a bare number',
    edit: [['pollInterval: 10s', 'pollInterval: 10']],
    path: 'spec.yarn.pollInterval',
    at: '10\n',
    message: /expected string, received number/,
  },
  {
    name: 'duration with a word unit',
    edit: [['pollInterval: 10s', 'pollInterval: 10sec']],
    path: 'spec.yarn.pollInterval',
    at: '10sec',
    message: /expected a duration/,
  },
  {
    name: 'duration with a space',
    edit: [['resetAfter: 1h', 'resetAfter: 1h 30m']],
    path: 'spec.restartPolicy.resetAfter',
    at: '1h 30m',
    message: /expected a duration/,
  },
  {
    name: 'zero poll interval',
    edit: [['pollInterval: 10s', 'pollInterval: 0s']],
    path: 'spec.yarn.pollInterval',
    at: '0s',
    message: /greater than 0/,
  },
  {
    name: 'poll interval above an hour',
    edit: [['pollInterval: 10s', 'pollInterval: 2h']],
    path: 'spec.yarn.pollInterval',
    at: '2h',
    message: /^must be at most 1h: /,
  },
  {
    name: 'unreachableTimeout past what a timer can wait',
    edit: [['pollInterval: 10s', 'pollInterval: 10s\n    unreachableTimeout: 99999999999h']],
    path: 'spec.yarn.unreachableTimeout',
    at: '99999999999h',
    message: /^must be at most 7d: /,
  },
  {
    name: 'appearTimeout above a day',
    edit: [['pollInterval: 10s', 'pollInterval: 10s\n    appearTimeout: 25h']],
    path: 'spec.yarn.appearTimeout',
    at: '25h',
    message: /^must be at most 1d: /,
  },
  {
    name: 'zero step timeout',
    edit: [['command: [echo, hi] }', 'command: [echo, hi], timeout: 0s }']],
    path: 'spec.steps[1].ssh.timeout',
    at: '0s }',
    message: /^must be greater than 0$/,
  },
  {
    name: 'pod step timeout above a week',
    edit: [['image: spark:3.5', 'image: spark:3.5\n        timeout: 8d']],
    path: 'spec.steps[0].pod.timeout',
    at: '8d',
    message: /^must be at most 7d: /,
  },
  {
    name: 'zero backoff',
    edit: [['initial: 30s', 'initial: 0s']],
    path: 'spec.restartPolicy.backoff.initial',
    at: '0s, factor',
    message: /^must be greater than 0$/,
  },
  {
    name: 'backoff max above a day',
    edit: [['max: 10m', 'max: 2d']],
    path: 'spec.restartPolicy.backoff.max',
    at: '2d',
    message: /^must be at most 1d: /,
  },
  {
    name: 'backoff factor above 10',
    edit: [['factor: 2', 'factor: 11']],
    path: 'spec.restartPolicy.backoff.factor',
    at: '11',
    message: /^expected number <= 10: /,
  },
  {
    name: 'maxRestarts above 1000',
    edit: [['maxRestarts: 3', 'maxRestarts: 1001']],
    path: 'spec.restartPolicy.maxRestarts',
    at: '1001',
    message: /^expected number <= 1000: /,
  },
  {
    name: 'zero resetAfter',
    edit: [['resetAfter: 1h', 'resetAfter: 0s']],
    path: 'spec.restartPolicy.resetAfter',
    at: '0s\n  steps',
    message: /^must be greater than 0$/,
  },
  {
    name: 'resetAfter above a week',
    edit: [['resetAfter: 1h', 'resetAfter: 30d']],
    path: 'spec.restartPolicy.resetAfter',
    at: '30d',
    message: /^must be at most 7d: /,
  },
  {
    name: 'name with capitals and underscore',
    edit: [['name: roaming', 'name: Roaming_App']],
    path: 'metadata.name',
    at: 'Roaming_App',
    message: /DNS-1123/,
  },
  {
    name: 'name longer than 63',
    edit: [['name: roaming', `name: ${'a'.repeat(64)}`]],
    path: 'metadata.name',
    at: 'a'.repeat(64),
    message: /at most 63/,
  },
  {
    name: 'step name not a DNS label',
    edit: [['- name: notify', '- name: Notify Team']],
    path: 'spec.steps[1].name',
    at: 'Notify Team',
    message: /DNS-1123/,
  },
  {
    name: 'duplicate step names',
    edit: [['- name: notify', '- name: build-and-submit']],
    path: 'spec.steps[1].name',
    at: 'build-and-submit\n      ssh',
    message: /duplicate step name "build-and-submit"/,
  },
  {
    name: 'from naming no step',
    edit: [['resetAfter: 1h', 'resetAfter: 1h\n    from: deploy']],
    path: 'spec.restartPolicy.from',
    at: 'deploy',
    message: /names no step; the steps are: build-and-submit, notify/,
  },
  {
    name: 'backoff max below initial',
    edit: [['max: 10m', 'max: 10s']],
    path: 'spec.restartPolicy.backoff.max',
    at: '10s }',
    message: /at least backoff.initial/,
  },
  {
    name: 'YAML syntax: unclosed flow mapping',
    edit: [['labels: { team: telecom }', 'labels: { team: telecom']],
    path: '',
    at: '{ team: telecom\n',
    message: /YAML syntax: .*end with a } \(opened here\)/,
  },
  {
    name: 'YAML syntax: unclosed quote',
    edit: [['appName: RoamingApp', 'appName: "RoamingApp']],
    path: '',
    at: '"RoamingApp',
    message: /YAML syntax: Missing closing "quote \(opened here\)/,
  },
  {
    name: 'YAML: duplicate key',
    edit: [['    appName: RoamingApp', '    appName: RoamingApp\n    appName: Other']],
    path: '',
    at: 'appName: Other',
    message: /YAML syntax: Map keys must be unique/,
  },
  {
    name: 'YAML: tab indentation',
    edit: [['    maxRestarts: 3', '\tmaxRestarts: 3']],
    path: '',
    at: '\tmaxRestarts',
    message: /YAML syntax/,
  },
  { name: 'empty file', text: '', path: '', at: '', message: /empty file/ },
  { name: 'only comments', text: '# nothing here\n', path: '', at: '#', message: /empty file/ },
  { name: 'two documents', text: BASE + '---\n' + BASE, path: '', at: '---', message: /one config per file/ },
  {
    name: 'a list, not a mapping',
    text: '- apiVersion: kappa/v1\n',
    path: '',
    at: '- apiVersion',
    message: /expected a mapping/,
  },
  {
    name: 'wrong apiVersion',
    edit: [['apiVersion: kappa/v1', 'apiVersion: kappa/v2']],
    path: 'apiVersion',
    at: 'kappa/v2',
    message: /expected "kappa\/v1"/,
  },
  {
    name: 'unknown kind',
    edit: [['kind: StreamingApp', 'kind: StreamApp']],
    path: 'kind',
    at: 'StreamApp',
    message: /expected "StreamingApp" \| "BatchJob"/,
  },
  {
    name: 'missing spec.yarn',
    edit: [['  yarn:\n    host: local\n    appName: RoamingApp\n    pollInterval: 10s\n', '']],
    path: 'spec.yarn',
    at: 'restartPolicy',
    message: /required/,
  },
  {
    name: 'missing metadata.name',
    edit: [['  name: roaming\n', '']],
    path: 'metadata.name',
    at: 'labels',
    message: /required/,
  },
  {
    name: 'no steps',
    edit: [[BASE.slice(BASE.indexOf('  steps:')), '  steps: []\n']],
    path: 'spec.steps',
    at: '[]',
    message: /needs at least one step/,
  },
  {
    name: 'step with pod and ssh',
    edit: [['      pod:\n', '      ssh: { host: local, script: "true" }\n      pod:\n']],
    path: 'spec.steps[0]',
    at: 'name: build-and-submit',
    message: /exactly one of: pod, ssh/,
  },
  {
    name: 'step with neither pod nor ssh',
    edit: [['      ssh: { host: local, command: [echo, hi] }\n', '']],
    path: 'spec.steps[1]',
    at: 'name: notify',
    message: /exactly one of: pod, ssh/,
  },
  {
    name: 'a step reference to no service step',
    edit: [['command: [echo, hi] }', "command: [echo, '${steps.model.url}'] }"]],
    path: 'spec.steps[1].ssh.command[1]',
    at: "'${steps.model.url}'",
    message: /^\$\{steps\.model\.url\}: no service step "model" before this step$/,
  },
  {
    name: 'ssh with command and script',
    edit: [['command: [echo, hi] }', 'command: [echo, hi], script: "echo hi" }']],
    path: 'spec.steps[1].ssh',
    at: '{ host: local, command',
    message: /exactly one of: command, script/,
  },
  {
    name: 'empty ssh command',
    edit: [['command: [echo, hi]', 'command: []']],
    path: 'spec.steps[1].ssh.command',
    at: '[]',
    message: /must not be empty/,
  },
  {
    name: 'onExisting not an option',
    edit: [['pollInterval: 10s', 'pollInterval: 10s\n    onExisting: ignore']],
    path: 'spec.yarn.onExisting',
    at: 'ignore',
    message: /expected "adopt" \| "kill" \| "fail"/,
  },
  {
    name: 'keepPod not an option',
    edit: [['image: spark:3.5', 'image: spark:3.5\n        keepPod: sometimes']],
    path: 'spec.steps[0].pod.keepPod',
    at: 'sometimes',
    message: /expected "never" \| "onFailure" \| "always"/,
  },
  {
    name: 'env value not a string',
    edit: [['HADOOP_CONF_DIR: /etc/hadoop/conf', 'PORT: 8080']],
    path: 'spec.steps[0].pod.env.PORT',
    at: '8080',
    message: /expected string, received number/,
  },
  {
    name: 'env name not a variable name',
    edit: [['HADOOP_CONF_DIR: /etc', 'HADOOP-CONF: /etc']],
    path: 'spec.steps[0].pod.env.HADOOP-CONF',
    at: 'HADOOP-CONF',
    message: /invalid key: must be an environment variable name/,
  },
  {
    name: 'inline secret in env',
    edit: [['HADOOP_CONF_DIR: /etc/hadoop/conf', 'KAFKA_PASSWORD: hunter2']],
    path: 'spec.steps[0].pod.env.KAFKA_PASSWORD',
    at: 'hunter2',
    message: /looks like a secret: use secretEnv/,
  },
  {
    name: 'secretEnv without key',
    edit: [['image: spark:3.5', 'image: spark:3.5\n        secretEnv: { TOKEN: { secret: creds } }']],
    path: 'spec.steps[0].pod.secretEnv.TOKEN.key',
    at: '{ secret: creds }',
    message: /required/,
  },
  {
    name: 'schedule on a StreamingApp',
    edit: [['spec:\n', 'spec:\n  schedule: { cron: "0 3 * * *" }\n']],
    path: 'spec.schedule',
    at: 'schedule',
    message: /unknown key/,
  },
  {
    name: 'BatchJob with a bad overlap',
    edit: [
      ['kind: StreamingApp', 'kind: BatchJob'],
      ['spec:\n', 'spec:\n  schedule: { cron: "0 3 * * *", overlap: queue }\n'],
    ],
    path: 'spec.schedule.overlap',
    at: 'queue',
    message: /expected "skip" \| "bufferOne" \| "cancelOther" \| "allowAll"/,
  },
  {
    name: 'container names clash',
    edit: [['- name: build\n', '- name: main\n']],
    path: 'spec.steps[0].pod.initContainers[0].name',
    at: 'main',
    message: /used twice/,
  },
  {
    name: 'relative sharedVolume',
    edit: [['image: spark:3.5', 'image: spark:3.5\n        sharedVolume: artifacts']],
    path: 'spec.steps[0].pod.sharedVolume',
    at: 'artifacts',
    message: /absolute path/,
  },
  {
    name: 'cpu not a quantity',
    edit: [['image: spark:3.5', 'image: spark:3.5\n        resources: { cpu: lots }']],
    path: 'spec.steps[0].pod.resources.cpu',
    at: 'lots',
    message: /Kubernetes quantity/,
  },
  {
    name: 'cpu with two decimal points (the API server refuses it with 400)',
    edit: [['image: spark:3.5', "image: spark:3.5\n        resources: { cpu: '1.2.3' }"]],
    path: 'spec.steps[0].pod.resources.cpu',
    at: "'1.2.3'",
    message: /^has more than one "\.": expected a Kubernetes quantity/,
  },
  {
    name: 'memory in GB',
    edit: [['image: spark:3.5', 'image: spark:3.5\n        resources: { memory: 1GB }']],
    path: 'spec.steps[0].pod.resources.memory',
    at: '1GB',
    message: /^unknown suffix "GB": expected one of Ki Mi Gi/,
  },
  {
    name: 'memory with a space, in an init container',
    edit: [['image: sbt:1.7', 'image: sbt:1.7\n            resources: { memory: 10 Mi }']],
    path: 'spec.steps[0].pod.initContainers[0].resources.memory',
    at: '10 Mi',
    message: /^must not contain whitespace/,
  },
  {
    name: 'negative cpu',
    edit: [['image: sbt:1.7', 'image: sbt:1.7\n            resources: { cpu: -1 }']],
    path: 'spec.steps[0].pod.initContainers[0].resources.cpu',
    at: '-1',
    message: /^must not be negative$/,
  },
  {
    name: 'image with a trailing space (the API server refuses it with 422)',
    edit: [['image: sbt:1.7', "image: 'sbt:1.7 '"]],
    path: 'spec.steps[0].pod.initContainers[0].image',
    at: "'sbt:1.7 '",
    message: /^must not have leading or trailing whitespace$/,
  },
  {
    name: 'image with an upper-case name',
    edit: [['image: spark:3.5', 'image: Spark:3.5']],
    path: 'spec.steps[0].pod.image',
    at: 'Spark:3.5',
    message: /^repository name "Spark" must be lowercase$/,
  },
  {
    name: 'a sidecar image that is no reference',
    text: BASE.replace(
      '        initContainers:',
      '        sidecars: [{ name: kinit, image: "kinit:" }]\n        initContainers:',
    ),
    path: 'spec.steps[0].pod.sidecars[0].image',
    at: '"kinit:"',
    message: /^not an image reference: expected \[registry\[:port\]\/\]name\[:tag\]\[@digest\]/,
  },
  {
    name: 'one name in env and secretEnv',
    edit: [
      [
        'env: { HADOOP_CONF_DIR: /etc/hadoop/conf }',
        'env: { HADOOP_CONF_DIR: /etc/hadoop/conf }\n        secretEnv: { HADOOP_CONF_DIR: { secret: s, key: k } }',
      ],
    ],
    path: 'spec.steps[0].pod.secretEnv.HADOOP_CONF_DIR',
    at: 'HADOOP_CONF_DIR: { secret',
    message:
      /^"HADOOP_CONF_DIR" is also in env \(spec\.steps\[0\]\.pod\.env\.HADOOP_CONF_DIR\): one would hide the other/,
  },
  {
    name: 'unknown key in a securityContext',
    edit: [
      ['image: sbt:1.7', 'image: sbt:1.7\n            securityContext: { runAsUser: 185, sysctls: [] }'],
    ],
    path: 'spec.steps[0].pod.initContainers[0].securityContext.sysctls',
    at: 'sysctls',
    message: /^unknown key$/,
  },
  {
    name: 'seccomp Localhost without its profile',
    edit: [
      [
        'image: spark:3.5',
        'image: spark:3.5\n        podSecurityContext: { seccompProfile: { type: Localhost } }',
      ],
    ],
    path: 'spec.steps[0].pod.podSecurityContext.seccompProfile.type',
    at: 'Localhost',
    message: /^Localhost needs localhostProfile$/,
  },
  {
    name: 'securityProfile restricted with a container that allows privilege escalation',
    edit: [
      ['image: spark:3.5', 'image: spark:3.5\n        securityProfile: restricted'],
      ['image: sbt:1.7', 'image: sbt:1.7\n            securityContext: { allowPrivilegeEscalation: true }'],
    ],
    path: 'spec.steps[0].pod.initContainers[0].securityContext.allowPrivilegeEscalation',
    at: 'true }',
    message: /^must not be true under securityProfile: restricted/,
  },
  {
    name: 'label value not a string',
    edit: [['{ team: telecom }', '{ team: telecom, tier: 1 }']],
    path: 'metadata.labels.tier',
    at: '1 }',
    message: /expected string, received number/,
  },
  {
    name: 'host missing from the worker config',
    edit: [['    host: local\n    appName', '    host: edge-9\n    appName']],
    knownHosts: ['edge-1'],
    path: 'spec.yarn.host',
    at: 'edge-9',
    message: /unknown host "edge-9"; the worker config has: edge-1/,
  },
];

describe('malformed app configs', () => {
  test(`there are at least 25 cases (${CASES.length})`, () => assert.ok(CASES.length >= 25));
  for (const c of CASES) {
    test(c.name, () => {
      let text = c.text ?? BASE;
      for (const [from, to] of c.edit ?? []) {
        assert.ok(text.includes(from), `edit anchor ${JSON.stringify(from)} not in the YAML`);
        text = text.replace(from, to);
      }
      const issues = issuesFor(text, c.knownHosts);
      assert.ok(issues.length > 0, 'the config was accepted');
      const wanted = `app.yaml:${positionOf(text, c.at)}: ${c.path ? `${c.path}: ` : ''}`;
      const lines = issues.map(formatLocated);
      assert.ok(
        lines.some((line) => line.startsWith(wanted) && c.message.test(line.slice(wanted.length))),
        `expected ${wanted}${String(c.message)}\n got:\n  ${lines.join('\n  ')}`,
      );
    });
  }
});

describe('valid app configs', () => {
  test('the base config of these tests is valid', () => assert.deepEqual(issuesFor(BASE), []));

  test('every example in config/apps validates against config/worker.yaml', () => {
    const files = readdirSync(APPS).map((f) => join(APPS, f));
    const hosts = Object.keys(loadWorkerConfig(join(__dirname, '..', '..', 'config', 'worker.yaml')).hosts);
    const { apps, issues } = loadAppFiles(files, { knownHosts: hosts });
    assert.deepEqual(issues.map(formatLocated), []);
    const kinds = apps.map((a) => `${a.config.kind}:${a.config.spec.steps.length}`);
    assert.ok(kinds.includes('StreamingApp:1'), 'a single-step app');
    assert.ok(
      kinds.some((k) => /^StreamingApp:[2-9]/.test(k)),
      'a multi-step app',
    );
    assert.ok(
      kinds.some((k) => k.startsWith('BatchJob')),
      'a batch job',
    );
    assert.ok(
      apps.some((a) => a.config.metadata.name === 'international-roaming'),
      'the documented example',
    );
  });

  test('defaults are filled in', () => {
    const result = validateAppConfig({
      apiVersion: 'kappa/v1',
      kind: 'StreamingApp',
      metadata: { name: 'x' },
      spec: { yarn: { host: 'local', appName: 'X' }, steps: [{ name: 's', pod: { image: 'i' } }] },
    });
    assert.ok(result.ok);
    assert.deepEqual(result.config.spec.yarn, {
      host: 'local',
      appName: 'X',
      pollInterval: '10s',
      unreachableTimeout: '15m',
      onExisting: 'adopt',
      appearTimeout: '5m',
      acceptedTimeout: '10m',
    });
    assert.deepEqual(result.config.spec.restartPolicy, {
      maxRestarts: 5,
      backoff: { initial: '30s', factor: 2, max: '10m' },
      resetAfter: '1h',
    });
    const pod = result.config.spec.steps[0]!.pod!;
    assert.deepEqual(
      [pod.sharedVolume, pod.timeout, pod.keepPod, pod.initContainers, pod.sidecars],
      ['/artifacts', '30m', 'onFailure', [], []],
    );
  });

  test('two files claiming one app name or one YARN application are rejected', () => {
    const file = join(APPS, 'fraud-scoring.yaml');
    const { issues } = loadAppFiles([file, file]);
    const lines = issues.map(formatLocated);
    assert.ok(
      lines.some((l) =>
        /fraud-scoring\.yaml:\d+:\d+: metadata\.name: app "fraud-scoring" is also declared in/.test(l),
      ),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) =>
        /spec\.yarn\.appName: YARN application "FraudScoringApp" on edge-1 is also claimed by/.test(l),
      ),
      lines.join('\n'),
    );
  });

  test('two apps whose model services would share a name (<app>-<step>) are rejected at the step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kappa-names-'));
    const model = readFileSync(join(APPS, 'fraud-scoring-model.yaml'), 'utf8');
    // "fraud-scoring-stream" + "model" and "fraud-scoring" + "stream-model": both "fraud-scoring-stream-model".
    const first = join(dir, 'a.yaml');
    const second = join(dir, 'b.yaml');
    writeFileSync(first, model);
    writeFileSync(
      second,
      model
        .replace('name: fraud-scoring-stream', 'name: fraud-scoring')
        .replace('appName: FraudScoringStream', 'appName: Other')
        .replace('- name: model', '- name: stream-model')
        .replaceAll('steps.model.', 'steps.stream-model.'),
    );
    const lines = loadAppFiles([first, second]).issues.map(formatLocated);
    const step = model.split('\n').findIndex((l) => l.includes('- name: model')) + 1;
    assert.deepEqual(lines, [
      `${second}:${step}:13: spec.steps[0].name: the model service "fraud-scoring-stream-model" would have the name of app "fraud-scoring-stream" step "model" in ${first} (a model service is named <app>-<step>): rename one of the steps`,
    ]);
    // In another namespace the names do not meet.
    writeFileSync(
      second,
      readFileSync(second, 'utf8').replace('replicas: 2', 'replicas: 2\n        namespace: other'),
    );
    assert.deepEqual(loadAppFiles([first, second]).issues.map(formatLocated), []);
  });

  test('a missing file is reported by name', () => {
    const { issues } = loadAppFiles(['/nonexistent/app.yaml']);
    assert.deepEqual(issues.map(formatLocated), ['/nonexistent/app.yaml:1:1: cannot read: no such file']);
  });
});

describe('worker config', () => {
  test('defaults without a file; an explicit missing file is an error', () => {
    const config = loadWorkerConfig(undefined, { KAPPA_WORKER_CONFIG: undefined });
    assert.equal(config.temporal.taskQueue, 'kappa');
    assert.throws(
      () => loadWorkerConfig('/nonexistent/worker.yaml'),
      /worker\.yaml:1:1: cannot read: no such file/,
    );
  });
});
