/**
 * A real kube-apiserver v1.34.2 with its own etcd v3.6.4, on 127.0.0.1 only, for the real-Kubernetes test tier
 * (binaries from scripts/ensure-kube.sh). What a cluster would set up and this does by hand, since by default no
 * controller-manager runs: its own CA and serving certificate; bearer tokens for an admin (system:masters)
 * and for the `kappa-worker` ServiceAccount user, whose rights come only from config/kubernetes/rbac.yaml
 * applied as written (its namespace swapped for the test's); the test namespace with its `default`
 * ServiceAccount. Authorization is RBAC alone, admission the server's defaults (ServiceAccount included).
 *
 * No scheduler or kubelet runs: pods stay unscheduled unless a test kubelet binds them
 * (test/support/test-kubelet.ts). No controllers run either unless `controllerManager` asks for a real
 * kube-controller-manager (opt-in: it costs about a second to start and some CPU while it runs): no serving
 * port, the admin's kubeconfig (TLS to the loopback server), only the controllers a test needs (DEFAULT_CONTROLLERS
 * or the test's list), the API server's service-account signing key. A Deployment then really makes its
 * ReplicaSets and Pods, rolls out and reports Available / Progressing, and deleting it cascades; it keeps running
 * through `restart()`, reconnecting as a real one does.
 *
 * Stopping does not wait for the server's ~60 s watch drain: SIGKILL after a short SIGTERM grace, then the data
 * directory is removed. `restart()` kills the API server alone and starts it again on the same port and etcd
 * (what a client sees of a control-plane restart). `extraWorkers` adds worker identities with other rules than
 * rbac.yaml's (an RBAC variant: a Role without `watch`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createWriteStream, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../../src/temporal/dev-server.js';
import { tempDir } from './harness.js';
import { spawnOwned } from './owned-spawn.js';

const ROOT = join(__dirname, '..', '..');
const RBAC_FILE = join(ROOT, 'config', 'kubernetes', 'rbac.yaml');
const RBAC_NAMESPACE = 'spark-jobs';
const WORKER_SA = 'kappa-worker';
const run = promisify(execFile);

export interface KubeApiServerOptions {
  /** The namespace the worker's Role is bound in (default spark-jobs, as in rbac.yaml). */
  namespace?: string;
  /**
   * More worker identities, each a ServiceAccount user `system:serviceaccount:<namespace>:<name>` with a Role of
   * only `rules` in the namespace; their kubeconfigs are in `kubeconfigs`.
   */
  extraWorkers?: { name: string; rules: V1PolicyRule[] }[];
  /**
   * Also run a real kube-controller-manager against this API server: `true` for the default controllers
   * (DEFAULT_CONTROLLERS), or the `--controllers` list to run. Resolves only once its controllers have synced
   * (seen by the serviceaccount controller's `default` ServiceAccount in kube-system, when that controller runs).
   */
  controllerManager?: boolean | { controllers: string[] };
}

/**
 * What Deployments need (deployment, replicaset), what a namespace gets in a cluster (serviceaccount, and
 * serviceaccount-token for legacy token Secrets), cascading deletion (garbagecollector; namespace for namespace
 * deletion), and a Service's EndpointSlices of the ready pods (endpointslice).
 */
export const DEFAULT_CONTROLLERS = [
  'deployment',
  'replicaset',
  'serviceaccount',
  'serviceaccount-token',
  'namespace',
  'garbagecollector',
  'endpointslice',
];

export interface KubeApiServer {
  /** https://127.0.0.1:PORT */
  url: string;
  namespace: string;
  /** The worker identity from rbac.yaml: `system:serviceaccount:<namespace>:kappa-worker`. */
  workerUser: string;
  /** Kubeconfig for the worker identity (bearer token), its context's namespace the test namespace. */
  kubeconfigPath: string;
  /** Kubeconfig for the admin (system:masters). */
  adminKubeconfigPath: string;
  /** Kubeconfig of each of `extraWorkers`, by name. */
  kubeconfigs: Record<string, string>;
  admin: KubeConfig;
  adminCore: CoreV1Api;
  /** CA, serving certificate and key (PEM), also good for a test kubelet's HTTPS endpoint (SAN 127.0.0.1). */
  tls: { ca: string; cert: string; key: string };
  /** Where the API server, etcd and the controller manager write their output (`<name>.log`). */
  logDir: string;
  /** The controllers kube-controller-manager runs; empty when it does not run. */
  controllers: string[];
  /** Milliseconds from spawning etcd to the API server's /readyz answering ok. */
  startupMs: number;
  /** Milliseconds from spawning kube-controller-manager to its controllers having synced (0 when it does not run). */
  controllerManagerMs: number;
  /** A GET as the admin, past the typed client (e.g. `/metrics`). */
  adminGet(path: string): Promise<{ status: number; body: string }>;
  /** Kills the API server (SIGKILL) and starts it again on the same port and etcd; resolves once ready. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds (once per machine, minutes) or finds the binaries; progress goes to this process's stderr. */
export async function kubeBinaries(): Promise<string> {
  const child = spawn('bash', [join(ROOT, 'scripts', 'ensure-kube.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`scripts/ensure-kube.sh failed (exit ${code})`);
  return out.trim();
}

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const namespace = options.namespace ?? RBAC_NAMESPACE;
  const bin = await kubeBinaries();
  const dir = tempDir('kube-apiserver');
  const tls = await certificates(dir);
  const saKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'sa.key'), saKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'sa.pub'), saKeys.publicKey.export({ type: 'spki', format: 'pem' }));
  const adminToken = `admin-${Math.random().toString(36).slice(2)}`;
  const workerToken = `worker-${Math.random().toString(36).slice(2)}`;
  const workerUser = `system:serviceaccount:${namespace}:${WORKER_SA}`;
  const saGroups = `"system:serviceaccounts,system:serviceaccounts:${namespace}"`;
  const extra = (options.extraWorkers ?? []).map((w) => ({
    ...w,
    token: `${w.name}-${Math.random().toString(36).slice(2)}`,
    user: `system:serviceaccount:${namespace}:${w.name}`,
  }));
  writeFileSync(
    join(dir, 'tokens.csv'),
    [
      `${adminToken},kappa-test-admin,kappa-test-admin,"system:masters"`,
      `${workerToken},${workerUser},kappa-worker-uid,${saGroups}`,
      ...extra.map((w) => `${w.token},${w.user},${w.name}-uid,${saGroups}`),
    ].join('\n') + '\n',
  );

  const [etcdClient, etcdPeer, port] = [await freePort(), await freePort(), await freePort()];
  const started = Date.now();
  const children: ChildProcess[] = [];
  const killAll = () =>
    children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL'));
  process.once('exit', killAll);
  const spawnLogged = (name: string, args: string[]) => {
    const child = spawnOwned(join(bin, name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
    // Two sources into one file: neither ends it (the other may still write), the child's close does.
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    child.once('close', () => log.end());
    child.on('error', (err) => log.write(`kappa: cannot run ${name}: ${err.message}\n`));
    children.push(child);
    return child;
  };
  const stopChild = async (child: ChildProcess, graceMs: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The API server drains open watches for about a minute on SIGTERM: tests do not wait for that.
    await restarting.catch(() => undefined);
    if (controllerManager) await stopChild(controllerManager, 2_000);
    await stopChild(apiserver, 1_000);
    await stopChild(etcd, 3_000);
    process.removeListener('exit', killAll);
    rmSync(join(dir, 'etcd-data'), { recursive: true, force: true });
  };

  const etcd = spawnLogged('etcd', [
    '-data-dir',
    join(dir, 'etcd-data'),
    '-client-url',
    `http://127.0.0.1:${etcdClient}`,
    '-peer-url',
    `http://127.0.0.1:${etcdPeer}`,
  ]);
  const apiserverArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--tls-cert-file=${join(dir, 'server.crt')}`,
    `--tls-private-key-file=${join(dir, 'server.key')}`,
    `--client-ca-file=${join(dir, 'ca.crt')}`,
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    `--kubelet-client-certificate=${join(dir, 'kubelet-client.crt')}`,
    `--kubelet-client-key=${join(dir, 'kubelet-client.key')}`,
    `--kubelet-certificate-authority=${join(dir, 'ca.crt')}`,
    '--profiling=false',
  ];
  let apiserver = spawnLogged('kube-apiserver', apiserverArgs);
  let controllerManager: ChildProcess | undefined;
  let restarting: Promise<void> = Promise.resolve();
  const url = `https://127.0.0.1:${port}`;
  try {
    await ready('etcd', () => httpOk(`http://127.0.0.1:${etcdClient}/health`), etcd, join(dir, 'etcd.log'));
    await ready(
      'kube-apiserver',
      () => httpsOk(`${url}/readyz`, tls.ca),
      apiserver,
      join(dir, 'kube-apiserver.log'),
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const startupMs = Date.now() - started;

  const kubeconfig = (user: string, token: string) => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'kappa-test', cluster: { server: url, 'certificate-authority': join(dir, 'ca.crt') } },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: user, context: { cluster: 'kappa-test', user, namespace } }],
    'current-context': user,
  });
  const kubeconfigPath = join(dir, 'worker.kubeconfig');
  const adminKubeconfigPath = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfigPath, JSON.stringify(kubeconfig(WORKER_SA, workerToken), null, 2));
  writeFileSync(adminKubeconfigPath, JSON.stringify(kubeconfig('admin', adminToken), null, 2));
  const kubeconfigs: Record<string, string> = {};
  for (const w of extra) {
    kubeconfigs[w.name] = join(dir, `${w.name}.kubeconfig`);
    writeFileSync(kubeconfigs[w.name]!, JSON.stringify(kubeconfig(w.name, w.token), null, 2));
  }
  const admin = new KubeConfig();
  admin.loadFromFile(adminKubeconfigPath);
  const adminCore = admin.makeApiClient(CoreV1Api);

  try {
    // What a cluster's controllers and its admin would have done: the namespace, its `default` ServiceAccount
    // (the token controller is not running), and rbac.yaml applied.
    await adminCore.createNamespace({ body: { metadata: { name: namespace } } });
    await adminCore.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'default' } } });
    const objects = KubernetesObjectApi.makeApiClient(admin);
    for (const object of rbacObjects(namespace)) await objects.create(object);
    for (const w of extra) {
      for (const object of roleFor(namespace, w.name, w.rules)) await objects.create(object);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const option = options.controllerManager ?? false;
  const controllers = option === false ? [] : option === true ? [...DEFAULT_CONTROLLERS] : option.controllers;
  let controllerManagerMs = 0;
  if (controllers.length > 0) {
    const spawned = Date.now();
    // Started after the setup above, so its serviceaccount controller finds the test namespace's `default`
    // ServiceAccount made already instead of racing to make it.
    controllerManager = spawnLogged('kube-controller-manager', [
      `--kubeconfig=${adminKubeconfigPath}`,
      // Port 0: no HTTPS endpoint at all (nothing here asks it for /healthz or /metrics), so nothing listens.
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--controllers=${controllers.join(',')}`,
      `--service-account-private-key-file=${join(dir, 'sa.key')}`,
      `--root-ca-file=${join(dir, 'ca.crt')}`,
      '--leader-elect=false',
      '--use-service-account-credentials=false',
      '--profiling=false',
    ]);
    try {
      if (controllers.includes('serviceaccount')) {
        await ready(
          'kube-controller-manager',
          () =>
            adminCore.readNamespacedServiceAccount({ name: 'default', namespace: 'kube-system' }).then(
              () => true,
              () => false,
            ),
          controllerManager,
          join(dir, 'kube-controller-manager.log'),
        );
      }
      controllerManagerMs = Date.now() - spawned;
    } catch (err) {
      await stop();
      throw err;
    }
  }

  return {
    url,
    namespace,
    workerUser,
    kubeconfigPath,
    adminKubeconfigPath,
    kubeconfigs,
    admin,
    adminCore,
    tls,
    logDir: dir,
    controllers,
    startupMs,
    controllerManagerMs,
    adminGet: (path) => httpsGet(`${url}${path}`, tls.ca, adminToken),
    restart: () => {
      restarting = (async () => {
        if (stopped) throw new Error('the API server was stopped');
        const old = apiserver;
        const exited = new Promise((r) => old.once('exit', r));
        old.kill('SIGKILL');
        await exited;
        apiserver = spawnLogged('kube-apiserver', apiserverArgs);
        await ready(
          'kube-apiserver',
          () => httpsOk(`${url}/readyz`, tls.ca),
          apiserver,
          join(dir, 'kube-apiserver.log'),
        );
      })();
      return restarting;
    },
    stop,
  };
}

/** A ServiceAccount user's Role of `rules` in `namespace`, bound to it. */
function roleFor(namespace: string, name: string, rules: V1PolicyRule[]): KubernetesObject[] {
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace }, rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  ] as KubernetesObject[];
}

/** config/kubernetes/rbac.yaml as written, with its namespace replaced by `namespace`. */
export function rbacObjects(namespace: string): KubernetesObject[] {
  const docs = parseAllDocuments(readFileSync(RBAC_FILE, 'utf8')).map((d) => d.toJS() as KubernetesObject);
  const swap = (ns: string | undefined) => (ns === RBAC_NAMESPACE ? namespace : ns);
  return docs.map((doc) => {
    const copy = structuredClone(doc) as KubernetesObject & { subjects?: { namespace?: string }[] };
    if (copy.metadata) copy.metadata.namespace = swap(copy.metadata.namespace);
    for (const s of copy.subjects ?? []) s.namespace = swap(s.namespace);
    return copy;
  });
}

/** A throwaway CA; a serving certificate for 127.0.0.1/localhost; the API server's client certificate for kubelets. */
async function certificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const at = (f: string) => join(dir, f);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    at('ca.key'),
    '-out',
    at('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=kappa-test-ca',
  ]);
  const leaf = async (name: string, subject: string, extensions: string) => {
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      at(`${name}.key`),
      '-out',
      at(`${name}.csr`),
      '-subj',
      subject,
    ]);
    writeFileSync(at(`${name}.ext`), extensions);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      at(`${name}.csr`),
      '-CA',
      at('ca.crt'),
      '-CAkey',
      at('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      at(`${name}.crt`),
      '-extfile',
      at(`${name}.ext`),
    ]);
  };
  await leaf(
    'server',
    '/CN=kube-apiserver',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  await leaf(
    'kubelet-client',
    '/O=system:masters/CN=kube-apiserver-kubelet-client',
    'extendedKeyUsage=clientAuth\n',
  );
  return {
    ca: readFileSync(at('ca.crt'), 'utf8'),
    cert: readFileSync(at('server.crt'), 'utf8'),
    key: readFileSync(at('server.key'), 'utf8'),
  };
}

async function ready(
  name: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) while starting:\n${tail(logFile)}`,
      );
    }
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${name} not ready after ${timeoutMs} ms:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return '(no log)';
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function httpsGet(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
