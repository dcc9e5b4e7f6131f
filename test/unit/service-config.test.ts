// Service steps and `${steps.…}` references in app configs: malformed ones fail with FILE:LINE:COL, the field's
// path and a message, as `kappa validate` prints them. Positions are found independently: the first occurrence
// of `at` in the YAML text.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateAppConfig, type RuleContext } from '../../src/config/validate-app.js';
import { ConfigError, formatLocated, parseYaml, type LocatedIssue } from '../../src/config/yaml-source.js';

const BASE = `apiVersion: kappa/v1
kind: StreamingApp
metadata:
  name: fraud
spec:
  yarn:
    host: local
    appName: FraudScoring
  restartPolicy:
    from: submit
  steps:
    - name: model
      service:
        image: registry.example.com/model:1
        args: [--port, '8080']
        env: { THREADS: '4' }
        port: 8080
        readinessProbe:
          httpGet: { path: /ready }
          period: 5s
        securityProfile: restricted
        timeout: 5m
        unavailableTimeout: 1m
    - name: submit
      pod:
        image: spark:3.5
        args: [--conf, 'spark.kappa.modelUrl=\${steps.model.url}', --conf, 'x=\${HOME}']
        env: { MODEL_HOST: '\${steps.model.host}' }
    - name: notify
      ssh: { host: local, command: [echo, 'model at \${steps.model.port}'] }
`;

function issuesFor(text: string, context: RuleContext = {}): LocatedIssue[] {
  try {
    const source = parseYaml('app.yaml', text);
    const result = validateAppConfig(source.value, context);
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
  edit: [string, string][];
  path: string;
  at: string;
  message: RegExp;
  context?: RuleContext;
}

const CASES: Case[] = [
  {
    name: 'a reference to a step that does not exist',
    edit: [['modelUrl=${steps.model.url}', 'modelUrl=${steps.modle.url}']],
    path: 'spec.steps[1].pod.args[1]',
    at: "'spark.kappa.modelUrl",
    message:
      /^\$\{steps\.modle\.url\}: no service step "modle" before this step \(service steps before it: model\)$/,
  },
  {
    name: 'a reference to a step that is not a service step',
    edit: [["'model at ${steps.model.port}'", "'after ${steps.submit.url}'"]],
    path: 'spec.steps[2].ssh.command[1]',
    at: "'after",
    message: /^\$\{steps\.submit\.url\}: step "submit" is not a service step/,
  },
  {
    name: 'a reference to a service step that runs later',
    edit: [
      [
        '    - name: notify\n',
        '    - name: late\n      service: { image: "m:1", port: 80 }\n    - name: notify\n',
      ],
      ["MODEL_HOST: '${steps.model.host}'", "MODEL_HOST: '${steps.late.host}'"],
    ],
    path: 'spec.steps[1].pod.env.MODEL_HOST',
    at: "'${steps.late.host}'",
    message: /^\$\{steps\.late\.host\}: service step "late" runs after this step/,
  },
  {
    name: 'a service step using its own address',
    edit: [["env: { THREADS: '4' }", "env: { SELF: '${steps.model.url}' }"]],
    path: 'spec.steps[0].service.env.SELF',
    at: "'${steps.model.url}' }",
    message: /cannot use its own address/,
  },
  {
    name: 'an unknown attribute',
    edit: [['${steps.model.host}', '${steps.model.ip}']],
    path: 'spec.steps[1].pod.env.MODEL_HOST',
    at: "'${steps.model.ip}'",
    message: /^\$\{steps\.model\.ip\}: unknown attribute "ip": a service step has url, host, port$/,
  },
  {
    name: 'not of the form ${steps.<step>.<attribute>}',
    edit: [['${steps.model.port}', '${steps.model}']],
    path: 'spec.steps[2].ssh.command[1]',
    at: "'model at",
    message: /^\$\{steps\.model\}: not a step reference: expected \$\{steps\.<step>\.url\|host\|port\}$/,
  },
  {
    name: 'a reference where Kappa resolves none',
    edit: [['appName: FraudScoring', "appName: 'Fraud ${steps.model.url}'"]],
    path: 'spec.yarn.appName',
    at: "'Fraud",
    message: /resolved only in args, command and env values/,
  },
  {
    name: 'a service step without a port',
    edit: [['        port: 8080\n', '']],
    path: 'spec.steps[0].service.port',
    at: 'image: registry.example.com/model:1',
    message: /required/,
  },
  {
    name: 'port out of range',
    edit: [['port: 8080', 'port: 70000']],
    path: 'spec.steps[0].service.port',
    at: '70000',
    message: /expected number <= 65535/,
  },
  {
    name: 'too many replicas',
    edit: [['port: 8080', 'port: 8080\n        replicas: 51']],
    path: 'spec.steps[0].service.replicas',
    at: '51',
    message: /expected number <= 50/,
  },
  {
    name: 'a readiness probe of two kinds',
    edit: [['httpGet: { path: /ready }', 'httpGet: { path: /ready }\n          tcpSocket: {}']],
    path: 'spec.steps[0].service.readinessProbe',
    at: 'httpGet',
    message: /exactly one of: httpGet, tcpSocket, exec/,
  },
  {
    name: 'a relative probe path',
    edit: [['path: /ready', 'path: ready']],
    path: 'spec.steps[0].service.readinessProbe.httpGet.path',
    at: 'ready }',
    message: /must be an absolute path/,
  },
  {
    name: 'an unknown key in a service step',
    edit: [['port: 8080', 'port: 8080\n        replica: 2']],
    path: 'spec.steps[0].service.replica',
    at: 'replica:',
    message: /unknown key/,
  },
  {
    name: 'a step with pod and service',
    edit: [['      pod:\n', '      service: { image: "m:1", port: 80 }\n      pod:\n']],
    path: 'spec.steps[1]',
    at: 'name: submit',
    message: /exactly one of: pod, ssh, service/,
  },
  {
    name: 'unavailableTimeout above its maximum',
    edit: [['unavailableTimeout: 1m', 'unavailableTimeout: 8d']],
    path: 'spec.steps[0].service.unavailableTimeout',
    at: '8d',
    message: /must be at most 7d/,
  },
  {
    name: 'timeout below its minimum (kappa validate)',
    edit: [['timeout: 5m', 'timeout: 7s']],
    context: { minimums: true },
    path: 'spec.steps[0].service.timeout',
    at: '7s',
    message: /must be at least 10s/,
  },
  {
    name: 'a secret-looking env name',
    edit: [["env: { THREADS: '4' }", "env: { MODEL_TOKEN: 'abc' }"]],
    path: 'spec.steps[0].service.env.MODEL_TOKEN',
    at: "'abc'",
    message: /looks like a secret: use secretEnv/,
  },
  {
    name: 'root under securityProfile restricted',
    edit: [
      [
        'securityProfile: restricted',
        'securityProfile: restricted\n        podSecurityContext: { runAsUser: 0 }',
      ],
    ],
    path: 'spec.steps[0].service.podSecurityContext.runAsUser',
    at: '0 }',
    message: /must not be 0 \(root\) under securityProfile: restricted/,
  },
  {
    name: 'a privileged server under securityProfile baseline',
    edit: [
      [
        'securityProfile: restricted',
        'securityProfile: baseline\n        securityContext: { privileged: true }',
      ],
    ],
    path: 'spec.steps[0].service.securityContext.privileged',
    at: 'true }',
    message: /must not be true under securityProfile: baseline/,
  },
];

describe('service steps and step references in app configs', () => {
  test('the base config of these tests is valid, with the minimums too', () => {
    assert.deepEqual(issuesFor(BASE, { minimums: true }).map(formatLocated), []);
  });

  for (const c of CASES) {
    test(c.name, () => {
      let text = BASE;
      for (const [from, to] of c.edit) {
        assert.ok(text.includes(from), `edit anchor ${JSON.stringify(from)} not in the YAML`);
        text = text.replace(from, to);
      }
      const lines = issuesFor(text, c.context).map(formatLocated);
      assert.ok(lines.length > 0, 'the config was accepted');
      const wanted = `app.yaml:${positionOf(text, c.at)}: ${c.path}: `;
      assert.ok(
        lines.some((line) => line.startsWith(wanted) && c.message.test(line.slice(wanted.length))),
        `expected ${wanted}${String(c.message)}\n got:\n  ${lines.join('\n  ')}`,
      );
    });
  }

  test('restartPolicy.from may name the step after the service step', () => {
    assert.deepEqual(issuesFor(BASE.replace('from: submit', 'from: notify')), []);
    assert.match(
      issuesFor(BASE.replace('from: submit', 'from: modle')).map(formatLocated).join('\n'),
      /spec\.restartPolicy\.from: names no step; the steps are: model, submit, notify/,
    );
  });
});
