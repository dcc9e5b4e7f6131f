// What the app config accepts for Kubernetes' own fields, held to what Kubernetes itself accepts: resource
// quantities to the API server's parser, images to the reference grammar the kubelet parses them with. The
// verdicts below were recorded from those Go functions (k8s.io/apimachinery v0.34.2 resource.ParseQuantity,
// github.com/distribution/reference v0.6.0 ParseNormalizedNamed with sha256/sha512 linked in, as in the kubelet).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  IMAGE_REFERENCE,
  imageProblem,
  NON_NEGATIVE_QUANTITY_PATTERN,
  quantityProblem,
} from '../../src/config/fields.js';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { formatIssue } from '../../src/config/issues.js';

/** resource.ParseQuantity: accepts (a negative value included) or refuses. */
const PARSE_QUANTITY: [string, boolean][] = [
  ['500m', true],
  ['1.5Gi', true],
  ['1e3', true],
  ['0.5', true],
  ['2', true],
  ['0', true],
  ['+1', true],
  ['-1', true],
  ['1.', true],
  ['.5', true],
  ['1.G', true],
  ['1E-3', true],
  ['1e+21', true],
  ['1Ki', true],
  ['1Ei', true],
  ['1n', true],
  ['1u', true],
  ['1k', true],
  ['1E', true],
  ['1P', true],
  ['99999999999999999999999', true],
  ['1.2.3', false],
  ['1GB', false],
  ['10 Mi', false],
  ['1K', false],
  ['1KiB', false],
  ['1mi', false],
  ['1e', false],
  ['1e+', false],
  ['1e3Gi', false],
  ['1m5', false],
  ['1Mm', false],
  ['1kk', false],
  ['1ee3', false],
  ['0x10', false],
  ['', false],
  [' 1', false],
  ['1 ', false],
  ['Infinity', false],
  ['NaN', false],
  ['1..0', false],
  ['1i', false],
  ['1e9999999999999999999', false],
];
/** Read as 0 by that parser, refused by Kappa: a quantity here starts with a digit (after a sign or "."). */
const READ_AS_ZERO = ['-', '+', '.', 'Gi', '-.', 'm', '.e3'];

/** ParseNormalizedNamed: accepts or refuses. */
const PARSE_IMAGE: [string, boolean][] = [
  ['spark:3.5', true],
  ['apache/spark:3.5.1', true],
  ['registry.example.com/spark-submit:3.5.1', true],
  ['sbtscala/scala-sbt:eclipse-temurin-17.0.4_1.7.1_3.2.0', true],
  ['localhost/spark', true],
  ['localhost:5000/team/spark:v1', true],
  ['127.0.0.1:5000/spark', true],
  ['[::1]:5000/spark:1', true],
  ['Registry.Example.com/spark', true],
  ['index.docker.io/library/spark', true],
  ['a__b', true],
  ['a--b', true],
  ['spark@sha256:HASH', true],
  ['spark:3.5@sha256:HASH', true],
  [`spark:${'v'.repeat(128)}`, true],
  ['a___b', false],
  ['a..b', false],
  ['Spark:3.5', false],
  ['team/Spark', false],
  ['spark:3.5 ', false],
  [' spark', false],
  ['my image', false],
  ['spark:', false],
  ['spark::3.5', false],
  [':3.5', false],
  ['spark:-rc1', false],
  ['spark:.rc1', false],
  ['spark/', false],
  ['/spark', false],
  ['spark@sha256:abc', false],
  ['spark@md5:0123456789abcdef0123456789abcdef', false],
  [`spark@sha256:${'A'.repeat(64)}`, false],
  ['HASH', false],
  [`spark:${'v'.repeat(129)}`, false],
  ['x'.repeat(256), false],
  ['http://registry/spark', false],
  ['registry.example.com:port/spark', false],
].map(([image, ok]) => [(image as string).replace('HASH', 'a'.repeat(64)), ok as boolean]);

/** The one issue `pod` gets as a pod step's fields, as `path: message`. */
function podIssues(pod: Record<string, unknown>): string[] {
  const result = validateAppConfig({
    apiVersion: 'kappa/v1',
    kind: 'StreamingApp',
    metadata: { name: 'roaming' },
    spec: { yarn: { host: 'local', appName: 'R' }, steps: [{ name: 'build', pod }] },
  });
  return result.ok ? [] : result.issues.map(formatIssue);
}

describe('resource quantities', () => {
  for (const [text, accepted] of PARSE_QUANTITY) {
    test(`${JSON.stringify(text)}: ${accepted ? 'a quantity' : 'refused'}, as the API server's parser says`, () => {
      assert.equal(quantityProblem(text) === undefined, accepted, quantityProblem(text));
    });
  }
  test('forms the parser reads as 0 by accident are refused', () => {
    for (const text of READ_AS_ZERO)
      assert.match(quantityProblem(text) ?? '', /must start with a number/, text);
  });
  test('cpu and memory refuse negative amounts; the JSON Schema pattern says the same as the check', () => {
    for (const text of [...PARSE_QUANTITY.map(([t]) => t), ...READ_AS_ZERO]) {
      const ok = quantityProblem(text, { negative: false }) === undefined;
      assert.equal(NON_NEGATIVE_QUANTITY_PATTERN.test(text), ok, text);
    }
    assert.equal(quantityProblem('-1', { negative: false }), 'must not be negative');
    assert.equal(quantityProblem('-0.5Gi', { negative: false }), 'must not be negative');
  });
  test('messages say what is wrong', () => {
    assert.deepEqual(podIssues({ image: 'i', resources: { cpu: '1.2.3', memory: '1GB' } }), [
      'spec.steps[0].pod.resources.cpu: has more than one ".": expected a Kubernetes quantity: a number with an optional suffix, such as 500m, 2, 0.5, 1.5Gi or 1e3',
      'spec.steps[0].pod.resources.memory: unknown suffix "GB": expected one of Ki Mi Gi Ti Pi Ei (powers of 2), n u m k M G T P E (powers of 10), or an exponent such as e3',
    ]);
    assert.deepEqual(
      podIssues({
        image: 'i',
        initContainers: [{ name: 'b', image: 'i', resources: { cpu: -1, memory: '10 Mi' } }],
      }),
      [
        'spec.steps[0].pod.initContainers[0].resources.cpu: must not be negative',
        'spec.steps[0].pod.initContainers[0].resources.memory: must not contain whitespace: expected a Kubernetes quantity: a number with an optional suffix, such as 500m, 2, 0.5, 1.5Gi or 1e3',
      ],
    );
    assert.deepEqual(
      podIssues({ image: 'i', sidecars: [{ name: 's', image: 'i', resources: { cpu: '-' } }] }),
      [
        'spec.steps[0].pod.sidecars[0].resources.cpu: must start with a number: expected a Kubernetes quantity: a number with an optional suffix, such as 500m, 2, 0.5, 1.5Gi or 1e3',
      ],
    );
    assert.deepEqual(podIssues({ image: 'i', resources: { cpu: 0.25, memory: 1e9 } }), []);
  });
});

describe('container images', () => {
  for (const [image, accepted] of PARSE_IMAGE) {
    const name = image.length > 40 ? `${image.slice(0, 40)}…` : image;
    test(`${JSON.stringify(name)}: ${accepted ? 'an image' : 'refused'}, as the kubelet's parser says`, () => {
      assert.equal(imageProblem(image) === undefined, accepted, imageProblem(image));
      // The JSON Schema's pattern is looser (no registry or length rules), never stricter.
      if (accepted) assert.match(image, IMAGE_REFERENCE);
    });
  }
  test('messages say what is wrong, for the main container, init containers and sidecars', () => {
    assert.deepEqual(
      podIssues({
        image: 'spark:3.5 ',
        initContainers: [{ name: 'b', image: 'Spark:3.5' }],
        sidecars: [
          { name: 's', image: 'my image' },
          { name: 't', image: '' },
          { name: 'u', image: 'spark@md5:0123456789abcdef0123456789abcdef' },
          { name: 'v', image: 'spark::3.5' },
        ],
      }),
      [
        'spec.steps[0].pod.image: must not have leading or trailing whitespace',
        'spec.steps[0].pod.initContainers[0].image: repository name "Spark" must be lowercase',
        'spec.steps[0].pod.sidecars[0].image: must not contain whitespace: expected [registry[:port]/]name[:tag][@digest], such as registry.example.com/spark:3.5.1',
        'spec.steps[0].pod.sidecars[1].image: must not be empty',
        'spec.steps[0].pod.sidecars[2].image: unsupported digest algorithm "md5": expected sha256, sha384 or sha512',
        'spec.steps[0].pod.sidecars[3].image: not an image reference: expected [registry[:port]/]name[:tag][@digest], such as registry.example.com/spark:3.5.1',
      ],
    );
  });
});

describe('env and secretEnv', () => {
  test('a name in both env and secretEnv of one container is refused; in different containers it is not', () => {
    const secret = { secret: 's', key: 'k' };
    assert.deepEqual(
      podIssues({
        image: 'i',
        env: { KAFKA_USER: 'u' },
        secretEnv: { KAFKA_USER: secret, OTHER: secret },
        initContainers: [{ name: 'b', image: 'i', env: { A: '1' }, secretEnv: { A: secret } }],
        sidecars: [{ name: 's', image: 'i', env: { B: '1' }, secretEnv: { B: secret } }],
      }),
      [
        'spec.steps[0].pod.secretEnv.KAFKA_USER: "KAFKA_USER" is also in env (spec.steps[0].pod.env.KAFKA_USER): one would hide the other in the container; set it in one place',
        'spec.steps[0].pod.initContainers[0].secretEnv.A: "A" is also in env (spec.steps[0].pod.initContainers[0].env.A): one would hide the other in the container; set it in one place',
        'spec.steps[0].pod.sidecars[0].secretEnv.B: "B" is also in env (spec.steps[0].pod.sidecars[0].env.B): one would hide the other in the container; set it in one place',
      ],
    );
    assert.deepEqual(
      podIssues({
        image: 'i',
        env: { A: '1' },
        initContainers: [{ name: 'b', image: 'i', secretEnv: { A: secret } }],
      }),
      [],
    );
  });
});

describe('security settings', () => {
  test('securityContext and podSecurityContext are strict subsets of Kubernetes', () => {
    assert.deepEqual(
      podIssues({
        image: 'i',
        podSecurityContext: { runAsUser: -1, supplementalGroups: [1], seccompProfile: { type: 'Localhost' } },
        securityContext: {
          runAsGroup: 2 ** 31,
          capabilities: { add: ['net_admin'] },
          procMount: 'Unmasked',
          seccompProfile: { type: 'RuntimeDefault', localhostProfile: 'x' },
        },
        sidecars: [
          {
            name: 's',
            image: 'i',
            securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: '/etc/p.json' } },
          },
        ],
        initContainers: [
          {
            name: 'b',
            image: 'i',
            securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'a/../../p' } },
          },
        ],
      }),
      [
        'spec.steps[0].pod.securityContext.capabilities.add[0]: must be a Linux capability in capitals, such as NET_BIND_SERVICE, or ALL',
        'spec.steps[0].pod.securityContext.runAsGroup: expected number <= 2147483647',
        'spec.steps[0].pod.securityContext.seccompProfile.localhostProfile: only with type: Localhost',
        'spec.steps[0].pod.securityContext.procMount: unknown key',
        'spec.steps[0].pod.podSecurityContext.runAsUser: expected number >= 0',
        'spec.steps[0].pod.podSecurityContext.seccompProfile.type: Localhost needs localhostProfile',
        'spec.steps[0].pod.podSecurityContext.supplementalGroups: unknown key',
        "spec.steps[0].pod.initContainers[0].securityContext.seccompProfile.localhostProfile: must not contain '..'",
        'spec.steps[0].pod.sidecars[0].securityContext.seccompProfile.localhostProfile: must be a relative path',
      ],
    );
  });

  test('pairs the API server refuses are refused, with or without a profile', () => {
    assert.deepEqual(
      podIssues({
        image: 'i',
        securityContext: {
          allowPrivilegeEscalation: false,
          privileged: true,
          capabilities: { add: ['CAP_SYS_ADMIN'] },
        },
      }),
      [
        'spec.steps[0].pod.securityContext.privileged: cannot be true with allowPrivilegeEscalation: false',
        'spec.steps[0].pod.securityContext.capabilities.add[0]: cannot add CAP_SYS_ADMIN with allowPrivilegeEscalation: false',
      ],
    );
  });

  test('securityProfile restricted refuses what would break it, wherever it is set', () => {
    assert.deepEqual(
      podIssues({
        image: 'i',
        securityProfile: 'restricted',
        podSecurityContext: { runAsUser: 0, runAsNonRoot: false, seccompProfile: { type: 'Unconfined' } },
        securityContext: {
          allowPrivilegeEscalation: true,
          capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['NET_RAW'] },
        },
        initContainers: [
          { name: 'b', image: 'i', securityContext: { privileged: true, runAsNonRoot: false } },
        ],
        sidecars: [
          {
            name: 's',
            image: 'i',
            securityContext: { runAsUser: 0, seccompProfile: { type: 'Unconfined' } },
          },
        ],
      }),
      [
        'spec.steps[0].pod.podSecurityContext.seccompProfile.type: must be RuntimeDefault or Localhost under securityProfile: restricted',
        'spec.steps[0].pod.podSecurityContext.runAsNonRoot: must not be false under securityProfile: restricted (left out, Kappa sets true)',
        'spec.steps[0].pod.podSecurityContext.runAsUser: must not be 0 (root) under securityProfile: restricted',
        'spec.steps[0].pod.securityContext.allowPrivilegeEscalation: must not be true under securityProfile: restricted (left out, Kappa sets false)',
        'spec.steps[0].pod.securityContext.capabilities.add[1]: CHOWN may not be added under securityProfile: restricted: only NET_BIND_SERVICE',
        'spec.steps[0].pod.securityContext.capabilities.drop: must include ALL under securityProfile: restricted (left out, Kappa sets [ALL])',
        "spec.steps[0].pod.initContainers[0].securityContext.runAsNonRoot: must not be false under securityProfile: restricted (left out, the pod's runAsNonRoot: true applies)",
        'spec.steps[0].pod.initContainers[0].securityContext.privileged: must not be true under securityProfile: restricted',
        'spec.steps[0].pod.sidecars[0].securityContext.seccompProfile.type: must be RuntimeDefault or Localhost under securityProfile: restricted',
        'spec.steps[0].pod.sidecars[0].securityContext.runAsUser: must not be 0 (root) under securityProfile: restricted',
      ],
    );
  });

  test('securityProfile baseline refuses only what breaks baseline', () => {
    assert.deepEqual(
      podIssues({
        image: 'i',
        securityProfile: 'baseline',
        podSecurityContext: { runAsUser: 0, runAsNonRoot: false },
        securityContext: { allowPrivilegeEscalation: true, capabilities: { add: ['CHOWN', 'NET_ADMIN'] } },
        sidecars: [
          {
            name: 's',
            image: 'i',
            securityContext: { privileged: true, seccompProfile: { type: 'Unconfined' } },
          },
        ],
      }),
      [
        'spec.steps[0].pod.securityContext.capabilities.add[1]: NET_ADMIN may not be added under securityProfile: baseline: only AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT',
        'spec.steps[0].pod.sidecars[0].securityContext.seccompProfile.type: must be RuntimeDefault or Localhost under securityProfile: baseline',
        'spec.steps[0].pod.sidecars[0].securityContext.privileged: must not be true under securityProfile: baseline',
      ],
    );
    assert.deepEqual(podIssues({ image: 'i', securityProfile: 'privileged' }), [
      'spec.steps[0].pod.securityProfile: expected "baseline" | "restricted"',
    ]);
  });
});
