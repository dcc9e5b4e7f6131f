// The checks a real kube-apiserver makes on a pod create (pkg/apis/core/validation) that the schema alone does
// not: used by the builder tests and by the loopback API server, which answers 422 Invalid like the real one.
import { Pod } from 'kubernetes-models/v1/Pod';
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';

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

// --- Pod Security Standards ---
// A port of the checks PodSecurity admission runs (k8s.io/pod-security-admission v0.34, policy version `latest`),
// with the same reasons, details, order and message, so a test can compare a pod's verdict to what a namespace
// labelled `pod-security.kubernetes.io/enforce: <level>` answers. Not ported: the relaxations behind alpha
// feature gates (user-namespace pods, skipped probe-host enforcement), which a default API server does not have.

export type PodSecurityLevel = 'baseline' | 'restricted';

type AnyContainer = V1Container;
interface CheckResult {
  reason: string;
  detail: string;
}
type Check = (pod: V1Pod, spec: V1PodSpec) => CheckResult | undefined;

const quoted = (items: readonly string[]) => (items.length === 0 ? '' : `"${items.join('", "')}"`);
const plural = (singular: string, many: string, n: number) => (n === 1 ? singular : many);
const sorted = (items: Iterable<string>) => [...new Set(items)].sort();
const containersOf = (spec: V1PodSpec): AnyContainer[] => [
  ...(spec.initContainers ?? []),
  ...spec.containers,
  ...((spec.ephemeralContainers ?? []) as AnyContainer[]),
];
const containerList = (names: string[]) =>
  `${plural('container', 'containers', names.length)} ${quoted(names)}`;
const windows = (spec: V1PodSpec) => spec.os?.name === 'windows';

/** `pod`, `container "a"`, … that set a field to a bad value, and the bad values. */
function badSetters(
  spec: V1PodSpec,
  podValue: string | undefined,
  containerValue: (c: AnyContainer) => string | undefined,
  bad: (value: string) => boolean,
) {
  const setters: string[] = [];
  const values: string[] = [];
  if (podValue !== undefined && bad(podValue)) {
    setters.push('pod');
    values.push(podValue);
  }
  const containers = containersOf(spec).filter((c) => {
    const v = containerValue(c);
    if (v === undefined || !bad(v)) return false;
    values.push(v);
    return true;
  });
  if (containers.length > 0) setters.push(containerList(containers.map((c) => c.name)));
  return { setters, values: sorted(values) };
}

const SAFE_CAPABILITIES = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
  'net.ipv4.tcp_rmem',
  'net.ipv4.tcp_wmem',
]);
const SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);
const SECCOMP_OK = (type: string | undefined) => type === 'RuntimeDefault' || type === 'Localhost';
const APPARMOR_OK = SECCOMP_OK;
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const RESTRICTED_VOLUME_SOURCES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'image',
  'persistentVolumeClaim',
  'projected',
  'secret',
];
/** The volume kinds the restricted check names, in the order it tests them. */
const NAMED_VOLUME_SOURCES = [
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'nfs',
  'iscsi',
  'glusterfs',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'fc',
  'azureFile',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'portworxVolume',
  'scaleIO',
  'storageos',
];

/** The seccomp check of either level: `required` (restricted) also fails containers that set nothing. */
function seccompCheck(required: boolean): Check {
  return (_pod, spec) => {
    if (required && windows(spec)) return undefined;
    const podType = spec.securityContext?.seccompProfile?.type;
    const { setters, values } = badSetters(
      spec,
      podType,
      (c) => c.securityContext?.seccompProfile?.type,
      (t) => !SECCOMP_OK(t),
    );
    if (setters.length > 0) {
      return {
        reason: 'seccompProfile',
        detail: `${setters.join(' and ')} must not set securityContext.seccompProfile.type to ${quoted(values)}`,
      };
    }
    if (!required || (podType !== undefined && SECCOMP_OK(podType))) return undefined;
    const unset = containersOf(spec).filter((c) => c.securityContext?.seccompProfile === undefined);
    if (unset.length === 0) return undefined;
    return {
      reason: 'seccompProfile',
      detail: `pod or ${containerList(unset.map((c) => c.name))} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    };
  };
}

const BASELINE_CHECKS: [string, Check][] = [
  [
    'appArmorProfile',
    (pod, spec) => {
      const { setters, values } = badSetters(
        spec,
        spec.securityContext?.appArmorProfile?.type,
        (c) => c.securityContext?.appArmorProfile?.type,
        (t) => !APPARMOR_OK(t),
      );
      const annotations = Object.entries(pod.metadata?.annotations ?? {})
        .filter(
          ([k, v]) =>
            k.startsWith(APPARMOR_ANNOTATION) &&
            !(v === '' || v === 'runtime/default' || v.startsWith('localhost/')),
        )
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .sort();
      const all = [...values, ...annotations];
      if (annotations.length > 0) setters.push(plural('annotation', 'annotations', annotations.length));
      if (setters.length === 0) return undefined;
      return {
        reason: plural('forbidden AppArmor profile', 'forbidden AppArmor profiles', all.length),
        detail: `${setters.join(' and ')} must not set AppArmor profile type to ${quoted(all)}`,
      };
    },
  ],
  [
    'capabilities_baseline',
    (_pod, spec) => {
      const added: string[] = [];
      const bad = containersOf(spec).filter((c) => {
        const extra = (c.securityContext?.capabilities?.add ?? []).filter(
          (cap) => !SAFE_CAPABILITIES.has(cap),
        );
        added.push(...extra);
        return extra.length > 0;
      });
      if (bad.length === 0) return undefined;
      return {
        reason: 'non-default capabilities',
        detail: `${containerList(bad.map((c) => c.name))} must not include ${quoted(sorted(added))} in securityContext.capabilities.add`,
      };
    },
  ],
  [
    'hostNamespaces',
    (_pod, spec) => {
      const host = (['hostNetwork', 'hostPID', 'hostIPC'] as const)
        .filter((k) => spec[k])
        .map((k) => `${k}=true`);
      return host.length > 0 ? { reason: 'host namespaces', detail: host.join(', ') } : undefined;
    },
  ],
  [
    'hostPathVolumes',
    (_pod, spec) => {
      const host = (spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => v.name);
      if (host.length === 0) return undefined;
      return {
        reason: 'hostPath volumes',
        detail: `${plural('volume', 'volumes', host.length)} ${quoted(host)}`,
      };
    },
  ],
  [
    'hostPorts',
    (_pod, spec) => {
      const ports: string[] = [];
      const bad = containersOf(spec).filter((c) => {
        const used = (c.ports ?? []).filter((p) => (p.hostPort ?? 0) !== 0).map((p) => String(p.hostPort));
        ports.push(...used);
        return used.length > 0;
      });
      if (bad.length === 0) return undefined;
      const list = sorted(ports);
      return {
        reason: 'hostPort',
        detail: `${containerList(bad.map((c) => c.name))} ${plural('uses', 'use', bad.length)} ${plural('hostPort', 'hostPorts', list.length)} ${list.join(', ')}`,
      };
    },
  ],
  [
    'hostProbesAndHostLifecycle',
    (_pod, spec) => {
      const hosts: string[] = [];
      const bad: string[] = [];
      for (const c of containersOf(spec)) {
        const handlers = [
          c.livenessProbe,
          c.readinessProbe,
          c.startupProbe,
          c.lifecycle?.postStart,
          c.lifecycle?.preStop,
        ];
        const found = handlers
          .flatMap((h) => [h?.httpGet?.host, h?.tcpSocket?.host])
          .filter((h): h is string => !!h);
        if (found.length > 0) bad.push(c.name);
        hosts.push(...found);
      }
      if (bad.length === 0) return undefined;
      const names = sorted(bad);
      const list = sorted(hosts);
      return {
        reason: 'probe or lifecycle host',
        detail: `${containerList(names)} ${plural('uses', 'use', names.length)} ${plural('probe or lifecycle host', 'probe or lifecycle hosts', list.length)} ${quoted(list)}`,
      };
    },
  ],
  [
    'privileged',
    (_pod, spec) => {
      const bad = containersOf(spec).filter((c) => c.securityContext?.privileged === true);
      if (bad.length === 0) return undefined;
      return {
        reason: 'privileged',
        detail: `${containerList(bad.map((c) => c.name))} must not set securityContext.privileged=true`,
      };
    },
  ],
  [
    'procMount',
    (_pod, spec) => {
      const bad = containersOf(spec).filter((c) => (c.securityContext?.procMount ?? 'Default') !== 'Default');
      if (bad.length === 0) return undefined;
      const kinds = sorted(bad.map((c) => c.securityContext!.procMount!));
      return {
        reason: 'procMount',
        detail: `${containerList(bad.map((c) => c.name))} must not set securityContext.procMount to ${quoted(kinds)}`,
      };
    },
  ],
  [
    'seLinuxOptions',
    (_pod, spec) => {
      const types: string[] = [];
      let user = false;
      let role = false;
      const bad = (o: { type?: string; user?: string; role?: string } | undefined) => {
        if (o === undefined) return false;
        const badType = !SELINUX_TYPES.has(o.type ?? '');
        if (badType) types.push(o.type ?? '');
        if (o.user) user = true;
        if (o.role) role = true;
        return badType || !!o.user || !!o.role;
      };
      const setters: string[] = [];
      if (bad(spec.securityContext?.seLinuxOptions)) setters.push('pod');
      const containers = containersOf(spec).filter((c) => bad(c.securityContext?.seLinuxOptions));
      if (containers.length > 0) setters.push(containerList(containers.map((c) => c.name)));
      if (setters.length === 0) return undefined;
      const list = sorted(types);
      const data = [
        ...(list.length > 0 ? [`${plural('type', 'types', list.length)} ${quoted(list)}`] : []),
        ...(user ? ['user may not be set'] : []),
        ...(role ? ['role may not be set'] : []),
      ];
      return {
        reason: 'seLinuxOptions',
        detail: `${setters.join(' and ')} set forbidden securityContext.seLinuxOptions: ${data.join('; ')}`,
      };
    },
  ],
  ['seccompProfile_baseline', seccompCheck(false)],
  [
    'sysctls',
    (_pod, spec) => {
      const bad = (spec.securityContext?.sysctls ?? [])
        .map((s) => s.name)
        .filter((n) => !SAFE_SYSCTLS.has(n));
      return bad.length > 0 ? { reason: 'forbidden sysctls', detail: bad.join(', ') } : undefined;
    },
  ],
  [
    'windowsHostProcess',
    (_pod, spec) => {
      const setters: string[] = [];
      if (spec.securityContext?.windowsOptions?.hostProcess === true) setters.push('pod');
      const bad = containersOf(spec).filter((c) => c.securityContext?.windowsOptions?.hostProcess === true);
      if (bad.length > 0) setters.push(containerList(bad.map((c) => c.name)));
      if (setters.length === 0) return undefined;
      return {
        reason: 'hostProcess',
        detail: `${setters.join(' and ')} must not set securityContext.windowsOptions.hostProcess=true`,
      };
    },
  ],
];

const RESTRICTED_CHECKS: [string, Check][] = [
  [
    'allowPrivilegeEscalation',
    (_pod, spec) => {
      if (windows(spec)) return undefined;
      const bad = containersOf(spec).filter((c) => c.securityContext?.allowPrivilegeEscalation !== false);
      if (bad.length === 0) return undefined;
      return {
        reason: 'allowPrivilegeEscalation != false',
        detail: `${containerList(bad.map((c) => c.name))} must set securityContext.allowPrivilegeEscalation=false`,
      };
    },
  ],
  [
    'capabilities_restricted',
    (_pod, spec) => {
      if (windows(spec)) return undefined;
      const missingDrop: string[] = [];
      const adding: string[] = [];
      const added: string[] = [];
      for (const c of containersOf(spec)) {
        const caps = c.securityContext?.capabilities;
        if (caps === undefined) {
          missingDrop.push(c.name);
          continue;
        }
        if (!(caps.drop ?? []).includes('ALL')) missingDrop.push(c.name);
        const extra = (caps.add ?? []).filter((cap) => cap !== 'NET_BIND_SERVICE');
        if (extra.length > 0) adding.push(c.name);
        added.push(...extra);
      }
      const details = [
        ...(missingDrop.length > 0
          ? [`${containerList(missingDrop)} must set securityContext.capabilities.drop=["ALL"]`]
          : []),
        ...(adding.length > 0
          ? [
              `${containerList(adding)} must not include ${quoted(sorted(added))} in securityContext.capabilities.add`,
            ]
          : []),
      ];
      return details.length > 0
        ? { reason: 'unrestricted capabilities', detail: details.join('; ') }
        : undefined;
    },
  ],
  [
    'restrictedVolumes',
    (_pod, spec) => {
      const bad: string[] = [];
      const kinds: string[] = [];
      for (const v of spec.volumes ?? []) {
        const source = v as unknown as Record<string, unknown>;
        if (RESTRICTED_VOLUME_SOURCES.some((k) => source[k] !== undefined)) continue;
        bad.push(v.name);
        kinds.push(NAMED_VOLUME_SOURCES.find((k) => source[k] !== undefined) ?? 'unknown');
      }
      if (bad.length === 0) return undefined;
      const list = sorted(kinds);
      return {
        reason: 'restricted volume types',
        detail: `${plural('volume', 'volumes', bad.length)} ${quoted(bad)} ${plural('uses', 'use', bad.length)} ${plural('restricted volume type', 'restricted volume types', list.length)} ${quoted(list)}`,
      };
    },
  ],
  [
    'runAsNonRoot',
    (_pod, spec) => {
      const podSetting = spec.securityContext?.runAsNonRoot;
      const setters = podSetting === false ? ['pod'] : [];
      const explicit = containersOf(spec).filter((c) => c.securityContext?.runAsNonRoot === false);
      if (explicit.length > 0) setters.push(containerList(explicit.map((c) => c.name)));
      if (setters.length > 0) {
        return {
          reason: 'runAsNonRoot != true',
          detail: `${setters.join(' and ')} must not set securityContext.runAsNonRoot=false`,
        };
      }
      if (podSetting === true) return undefined;
      const implicit = containersOf(spec).filter((c) => c.securityContext?.runAsNonRoot === undefined);
      if (implicit.length === 0) return undefined;
      return {
        reason: 'runAsNonRoot != true',
        detail: `pod or ${containerList(implicit.map((c) => c.name))} must set securityContext.runAsNonRoot=true`,
      };
    },
  ],
  [
    'runAsUser',
    (_pod, spec) => {
      const setters = spec.securityContext?.runAsUser === 0 ? ['pod'] : [];
      const bad = containersOf(spec).filter((c) => c.securityContext?.runAsUser === 0);
      if (bad.length > 0) setters.push(containerList(bad.map((c) => c.name)));
      if (setters.length === 0) return undefined;
      return { reason: 'runAsUser=0', detail: `${setters.join(' and ')} must not set runAsUser=0` };
    },
  ],
  ['seccompProfile_restricted', seccompCheck(true)],
];

/** Checks each level runs, in PodSecurity admission's order: baseline's, then restricted's own, each by id. */
const OVERRIDDEN_BY_RESTRICTED = new Set([
  'capabilities_baseline',
  'hostPathVolumes',
  'seccompProfile_baseline',
]);
const LEVEL_CHECKS: Record<PodSecurityLevel, Check[]> = {
  baseline: BASELINE_CHECKS.map(([, check]) => check),
  restricted: [
    ...BASELINE_CHECKS.filter(([id]) => !OVERRIDDEN_BY_RESTRICTED.has(id)).map(([, check]) => check),
    ...RESTRICTED_CHECKS.map(([, check]) => check),
  ],
};

/**
 * Why a namespace enforcing `level` would refuse `pod`, as PodSecurity admission words it after
 * `violates PodSecurity "<level>:latest": `; undefined when the pod meets the level.
 */
export function podSecurityViolation(pod: V1Pod, level: PodSecurityLevel): string | undefined {
  const spec = pod.spec;
  if (!spec) return undefined;
  const failed = LEVEL_CHECKS[level]
    .map((check) => check(pod, spec))
    .filter((r): r is CheckResult => r !== undefined);
  if (failed.length === 0) return undefined;
  return failed.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(', ');
}
