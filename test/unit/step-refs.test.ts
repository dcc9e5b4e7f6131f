// `${steps.<name>.url|host|port}` (src/config/step-refs.ts): found where Kappa resolves them and anywhere else,
// resolved into a copy of the step, other `${…}` left alone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appConfigSchema, type AppConfig, type Step } from '../../src/config/app-config.js';
import { formatPath } from '../../src/config/issues.js';
import { describeResolved, findStepRefs, resolveStepRefs } from '../../src/config/step-refs.js';

const URL = 'http://fraud-model.spark-jobs.svc:8080';
const HOST = 'fraud-model.spark-jobs.svc';
const values = { model: { url: URL, host: HOST, port: 8080 } };

const MODEL = { name: 'model', service: { image: 'registry.example.com/model:1', port: 8080 } };

/** An app config as the schema parses it (defaults filled in), before the rules, which would refuse some here. */
function config(steps: unknown[], appName = 'F'): AppConfig {
  return appConfigSchema.parse({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: 'fraud' },
    spec: { yarn: { host: 'local', appName }, steps },
  });
}

const pod = {
  name: 'submit',
  pod: {
    image: 'spark:3.5',
    command: ['spark-submit'],
    args: ['--conf', 'spark.kappa.modelUrl=${steps.model.url}', '${HOME}/app.jar'],
    env: { MODEL_HOST: '${steps.model.host}', PLAIN: '$PATH:${PATH}' },
    initContainers: [
      {
        name: 'wait',
        image: 'busybox:1',
        command: ['sh', '-c', 'until nc -z ${steps.model.host} ${steps.model.port}; do sleep 1; done'],
      },
    ],
    sidecars: [{ name: 'proxy', image: 'proxy:1', env: { UPSTREAM: '${steps.model.url}' } }],
  },
};
const ssh = {
  name: 'notify',
  ssh: {
    host: 'local',
    script: 'curl -fsS ${steps.model.url}/v2/health/ready\necho "${USER}"',
    env: { M: '${steps.model.port}' },
  },
};

describe('findStepRefs', () => {
  test('every reference, with its field and step, in every field Kappa resolves', () => {
    const refs = findStepRefs(config([MODEL, pod, ssh]));
    assert.deepEqual(
      refs.map((r) => [formatPath(r.path), r.stepIndex, r.text, r.step, r.attribute, r.resolvable]),
      [
        ['spec.steps[1].pod.args[1]', 1, '${steps.model.url}', 'model', 'url', true],
        ['spec.steps[1].pod.env.MODEL_HOST', 1, '${steps.model.host}', 'model', 'host', true],
        ['spec.steps[1].pod.initContainers[0].command[2]', 1, '${steps.model.host}', 'model', 'host', true],
        ['spec.steps[1].pod.initContainers[0].command[2]', 1, '${steps.model.port}', 'model', 'port', true],
        ['spec.steps[1].pod.sidecars[0].env.UPSTREAM', 1, '${steps.model.url}', 'model', 'url', true],
        ['spec.steps[2].ssh.script', 2, '${steps.model.url}', 'model', 'url', true],
        ['spec.steps[2].ssh.env.M', 2, '${steps.model.port}', 'model', 'port', true],
      ],
    );
  });

  test('malformed references, and references where Kappa resolves none', () => {
    const refs = findStepRefs(
      config(
        [
          MODEL,
          {
            name: 'submit',
            ssh: {
              host: 'local',
              command: ['a', '${steps.model}', '${steps.Model.url}', 'x${steps.model.url'],
            },
          },
        ],
        'Scoring ${steps.model.url}',
      ),
    );
    assert.deepEqual(
      refs.map((r) => [formatPath(r.path), r.text, r.step, r.resolvable]),
      [
        ['spec.yarn.appName', '${steps.model.url}', 'model', false],
        ['spec.steps[1].ssh.command[1]', '${steps.model}', undefined, true],
        ['spec.steps[1].ssh.command[2]', '${steps.Model.url}', undefined, true],
        ['spec.steps[1].ssh.command[3]', '${steps.model.url', undefined, true],
      ],
    );
  });
});

describe('resolveStepRefs', () => {
  const [, submit, notify] = config([MODEL, pod, ssh]).spec.steps as [Step, Step, Step];

  test('a copy with every reference replaced; the step itself and other ${…} untouched', () => {
    const before = structuredClone(submit);
    const resolved = resolveStepRefs(submit, values);
    assert.deepEqual(submit, before, 'not changed in place');
    assert.deepEqual(resolved.pod!.args, ['--conf', `spark.kappa.modelUrl=${URL}`, '${HOME}/app.jar']);
    assert.deepEqual(resolved.pod!.env, { MODEL_HOST: HOST, PLAIN: '$PATH:${PATH}' });
    assert.deepEqual(resolved.pod!.command, ['spark-submit']);
    assert.deepEqual(resolved.pod!.initContainers[0]!.command, [
      'sh',
      '-c',
      `until nc -z ${HOST} 8080; do sleep 1; done`,
    ]);
    assert.deepEqual(resolved.pod!.sidecars[0]!.env, { UPSTREAM: URL });
    assert.equal(resolved.pod!.image, submit.pod!.image);
    assert.equal(resolved.pod!.timeout, submit.pod!.timeout);

    const ran = resolveStepRefs(notify, values);
    assert.equal(ran.ssh!.script, `curl -fsS ${URL}/v2/health/ready\necho "\${USER}"`);
    assert.deepEqual(ran.ssh!.env, { M: '8080' });
  });

  test('a step without references comes back equal; describeResolved says what was replaced', () => {
    const plain = config([MODEL]).spec.steps[0]!;
    assert.deepEqual(resolveStepRefs(plain, values), plain);
    assert.deepEqual(describeResolved(plain, values), []);
    assert.deepEqual(describeResolved(submit, values), [
      { ref: '${steps.model.url}', value: URL },
      { ref: '${steps.model.host}', value: HOST },
      { ref: '${steps.model.port}', value: '8080' },
    ]);
  });

  test('a reference it cannot resolve throws, naming the step and field (the config was not validated)', () => {
    assert.throws(
      () => resolveStepRefs(submit, {}),
      /^Error: step submit: pod\.args\[1\]: cannot resolve \$\{steps\.model\.url\}: no service step "model"$/,
    );
  });
});
