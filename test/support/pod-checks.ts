// The checks a real kube-apiserver makes on a pod create (pkg/apis/core/validation) that the schema alone does
// not: used by the builder tests and by the loopback API server, which answers 422 Invalid like the real one.
import { Pod } from 'kubernetes-models/v1/Pod';
import type { V1Container, V1Pod } from '@kubernetes/client-node';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Problems as `field: message`, empty when the API server would accept the pod. */
export function podProblems(pod: V1Pod): string[] {
  const problems: string[] = [];
  try {
    new Pod(pod as never).validate();
  } catch (err) {
    problems.push(`schema: ${(err as Error).message}`);
  }
  const name = pod.metadata?.name ?? '';
  if (!SUBDOMAIN.test(name) || name.length > 253)
    problems.push(`metadata.name: invalid DNS-1123 subdomain "${name}"`);
  if (!pod.metadata?.namespace || !LABEL.test(pod.metadata.namespace))
    problems.push('metadata.namespace: invalid');
  for (const [key, value] of Object.entries(pod.metadata?.labels ?? {})) {
    if (!QUALIFIED_NAME.test(key)) problems.push(`metadata.labels: invalid key "${key}"`);
    if (!LABEL_VALUE.test(value) || value.length > 63)
      problems.push(`metadata.labels[${key}]: invalid value "${value}"`);
  }
  for (const key of Object.keys(pod.metadata?.annotations ?? {})) {
    if (!QUALIFIED_NAME.test(key)) problems.push(`metadata.annotations: invalid key "${key}"`);
  }
  const spec = pod.spec;
  if (!spec) return [...problems, 'spec: required'];
  if (!['Always', 'OnFailure', 'Never'].includes(spec.restartPolicy ?? 'Always'))
    problems.push('spec.restartPolicy: unsupported');
  if (spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds <= 0)
    problems.push('spec.activeDeadlineSeconds: must be > 0');
  if (spec.containers.length === 0) problems.push('spec.containers: required');
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const seen = new Set<string>();
  const check = (c: V1Container, path: string, init: boolean) => {
    if (!LABEL.test(c.name) || c.name.length > 63)
      problems.push(`${path}.name: invalid DNS-1123 label "${c.name}"`);
    if (seen.has(c.name)) problems.push(`${path}.name: Duplicate value: "${c.name}"`);
    seen.add(c.name);
    if (!c.image) problems.push(`${path}.image: Required value`);
    const restart = (c as V1Container & { restartPolicy?: string }).restartPolicy;
    if (restart !== undefined && (!init || restart !== 'Always')) {
      problems.push(`${path}.restartPolicy: Forbidden: may only be set to Always on init containers`);
    }
    for (const mount of c.volumeMounts ?? []) {
      if (!volumes.has(mount.name)) problems.push(`${path}.volumeMounts.name: Not found: "${mount.name}"`);
      if (!mount.mountPath.startsWith('/')) problems.push(`${path}.volumeMounts.mountPath: must be absolute`);
    }
    for (const e of c.env ?? [])
      if (!ENV_NAME.test(e.name)) problems.push(`${path}.env.name: invalid "${e.name}"`);
  };
  (spec.initContainers ?? []).forEach((c, i) => check(c, `spec.initContainers[${i}]`, true));
  spec.containers.forEach((c, i) => check(c, `spec.containers[${i}]`, false));
  return problems;
}
