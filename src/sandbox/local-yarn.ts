/**
 * A real single-node YARN on this machine, for the real YARN test tier and the `npm start` sandbox: Hadoop
 * 3.4.1's ResourceManager + NodeManager in one JVM (scripts/yarn/src/LocalYarnLauncher.java, fetched and built
 * once by scripts/ensure-yarn.sh), and an edge node's tools for it: bin dirs with `yarn` (the real Hadoop client
 * CLI, run as bin/yarn runs it) and `spark-submit` (the real one from pyspark 4.0.1), in two client-config
 * variants:
 *   - `fast`: a client that gives up ~10 s after it cannot reach the ResourceManager (exit 1, a Java stack trace);
 *   - `default`: Hadoop's defaults, which retry a down ResourceManager for 15 minutes per call.
 * Everything listens on 127.0.0.1 only: the RM on fixed ports (so a restarted RM is where clients look), the
 * NodeManager and the Spark JVMs it starts on ephemeral ones. The RM keeps its state (FileSystemRMStateStore), so
 * `stopResourceManager()` + `startResourceManager()` is an RM outage that running applications survive.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  constants,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { freePort } from '../temporal/dev-server.js';

const REPO_ROOT = join(__dirname, '..', '..');
const HOST = '127.0.0.1';

/** Which client configuration a conf dir or bin dir holds: see the header. */
export type ClientVariant = 'fast' | 'default';
const VARIANTS: readonly ClientVariant[] = ['fast', 'default'];

export interface LocalYarnOptions {
  /** Where everything of this instance lives (removed by stop()); a fresh temporary directory by default. */
  workDir?: string;
  /** The NodeManager's memory; 4096 MB holds two small Spark apps (each an 896 MB AM + an 896 MB executor). */
  nodeManagerMemoryMb?: number;
  /** How long start() waits for the RM, the NodeManager and the RM's REST API (default 120 s). */
  startTimeoutMs?: number;
  /** Keep the work dir after stop() (to read the logs). */
  keepWorkDir?: boolean;
}

/** One application as the ResourceManager's REST API (`/ws/v1/cluster/apps`) reports it. */
export interface LocalYarnApp {
  id: string;
  name: string;
  state: string;
  finalStatus: string;
  diagnostics: string;
  tags: string[];
}

export interface CommandResult {
  /** The exit code, or null when a signal ended the command. */
  code: number | null;
  /** The command ran past its timeout and was sent SIGTERM (a JVM then exits 143). */
  timedOut: boolean;
  stdout: string;
  stderr: string;
  durationMs: number;
}

interface Ports {
  rm: number;
  scheduler: number;
  tracker: number;
  admin: number;
  web: number;
}

/** Builds (once per machine, minutes) or finds the local YARN's jars; progress goes to this process's stderr. */
export async function ensureLocalYarn(): Promise<string> {
  const child = spawn('bash', [join(REPO_ROOT, 'scripts', 'ensure-yarn.sh')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    // 'close', not 'exit': stdout may still hold the directory when the process has exited.
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`scripts/ensure-yarn.sh failed (exit ${code})`);
  return out.trim();
}

/** The `java` this machine runs: $JAVA_HOME's, else the first on PATH, resolved past symlinks. */
export function findJava(): { java: string; javaHome: string } {
  const candidates = [
    ...(process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin', 'java')] : []),
    ...(process.env.PATH ?? '').split(delimiter).map((d) => join(d, 'java')),
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      const java = realpathSync(candidate);
      return { java, javaHome: dirname(dirname(java)) };
    } catch {
      // not here
    }
  }
  throw new Error('the local YARN needs a JDK 17 or later: no java on PATH and no JAVA_HOME');
}

// Java 17 closes the JDK internals that Hadoop's RM/NM web apps (Guice, Jersey) reach into.
const ADD_OPENS = [
  'java.base/java.lang',
  'java.base/java.lang.reflect',
  'java.base/java.lang.invoke',
  'java.base/java.io',
  'java.base/java.net',
  'java.base/java.nio',
  'java.base/java.util',
  'java.base/java.util.concurrent',
  'java.base/sun.nio.ch',
].map((p) => `--add-opens=${p}=ALL-UNNAMED`);

// Settings of a Hadoop or Spark installation on this machine that would point our JVMs elsewhere.
const FOREIGN_ENV = [
  'HADOOP_CONF_DIR',
  'YARN_CONF_DIR',
  'HADOOP_HOME',
  'HADOOP_COMMON_HOME',
  'HADOOP_HDFS_HOME',
  'HADOOP_YARN_HOME',
  'HADOOP_MAPRED_HOME',
  'SPARK_HOME',
  'SPARK_CONF_DIR',
  'SPARK_DIST_CLASSPATH',
  'CLASSPATH',
];

// A client JVM per `yarn` call: C1 only and a small serial heap make it start in about a second.
const CLIENT_JVM = ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xmx256m'];

// What Hadoop's own etc/hadoop/log4j.properties does for the CLI: INFO to stderr, `%d{ISO8601} %p %c{2}: %m%n`.
const CLIENT_LOG4J = `hadoop.root.logger=INFO,console
log4j.rootLogger=\${hadoop.root.logger}
log4j.appender.console=org.apache.log4j.ConsoleAppender
log4j.appender.console.target=System.err
log4j.appender.console.layout=org.apache.log4j.PatternLayout
log4j.appender.console.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
log4j.logger.org.apache.hadoop.util.NativeCodeLoader=ERROR
`;

// The launcher's own log goes to stderr (a file): its stdout carries only the `kappa-yarn:` event lines.
const SERVER_LOG4J = `log4j.rootLogger=INFO,stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=%d{ISO8601} %p %c{2}: %m%n
`;

// A client that cannot reach the RM fails after ~10 s: one connect attempt per call (no ipc-level retries),
// calls retried each second for 10 s. Hadoop's defaults: 15 minutes of retries.
const FAST_FAIL_YARN = {
  'yarn.resourcemanager.connect.max-wait.ms': '10000',
  'yarn.resourcemanager.connect.retry-interval.ms': '1000',
};
const FAST_FAIL_CORE = {
  'ipc.client.connect.max.retries': '0',
  'ipc.client.connect.max.retries.on.timeouts': '0',
  'ipc.client.connect.timeout': '2000',
};

function siteXml(properties: Record<string, string>): string {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const rows = Object.entries(properties).map(
    ([name, value]) => `  <property><name>${escape(name)}</name><value>${escape(value)}</value></property>`,
  );
  return `<?xml version="1.0"?>\n<!-- Written by Kappa's local YARN (src/sandbox/local-yarn.ts). -->\n<configuration>\n${rows.join('\n')}\n</configuration>\n`;
}

/** Single-quoted for bash. */
function sh(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function writeExecutable(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o755 });
}

/** Every process below `root` (children, their children, …), from one `ps` snapshot. */
export function descendants(root: number): number[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of table.split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid === undefined || ppid === undefined || Number.isNaN(pid) || Number.isNaN(ppid)) continue;
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of children.get(next) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** Processes whose command line names `dir`: YARN containers point their tmpdir into the NodeManager's dirs. */
function processesMentioning(dir: string): number[] {
  let table: string;
  try {
    table = execFileSync('ps', ['-A', '-ww', '-o', 'pid=,args='], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    return [];
  }
  return table
    .split('\n')
    .filter((line) => line.includes(dir))
    .map((line) => Number(line.trim().split(/\s+/)[0]))
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid);
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

export class LocalYarn {
  readonly workDir: string;
  private readonly options: LocalYarnOptions;
  private home: string | undefined;
  private ports: Ports | undefined;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private readonly events: string[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly onExit = () => this.killEverything();
  /** Milliseconds from spawning the launcher JVM to its ready line. */
  startupMs = 0;

  constructor(options: LocalYarnOptions = {}) {
    this.options = options;
    this.workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'kappa-yarn-'));
  }

  /** The Spark installation (pyspark 4.0.1's jars/ and bin/). */
  get sparkHome(): string {
    return join(this.dir(), 'pyspark');
  }

  /** The Structured Streaming workload (class `RateApp`; flags `--seconds N`, `--fail`, `--batch`). */
  get streamingAppJar(): string {
    return join(this.dir(), 'rate-app.jar');
  }

  readonly streamingAppClass = 'RateApp';

  /** The jars of the Hadoop client (and the minicluster). */
  get hadoopJars(): string {
    return join(this.dir(), 'hadoop');
  }

  /** host:port of the ResourceManager's client RPC (yarn.resourcemanager.address). */
  get rmAddress(): string {
    return `${HOST}:${this.port().rm}`;
  }

  /** The RM's web address: http://127.0.0.1:PORT */
  get webUrl(): string {
    return `http://${HOST}:${this.port().web}`;
  }

  get restAppsUrl(): string {
    return `${this.webUrl}/ws/v1/cluster/apps`;
  }

  /** HADOOP_CONF_DIR for a client that fails fast when the RM is down. */
  get fastFailConfDir(): string {
    return this.confDir('fast');
  }

  /** HADOOP_CONF_DIR with Hadoop's default client retries (15 minutes against a down RM). */
  get defaultConfDir(): string {
    return this.confDir('default');
  }

  confDir(variant: ClientVariant): string {
    this.port();
    return join(this.workDir, `conf-${variant}`);
  }

  /** A directory with executable `yarn` and `spark-submit` for this cluster, using `variant`'s client conf. */
  binDir(variant: ClientVariant): string {
    this.port();
    return join(this.workDir, `bin-${variant}`);
  }

  /** Where the launcher JVM writes its log (RM, NodeManager and container launches). */
  get logFile(): string {
    return join(this.workDir, 'launcher.log');
  }

  /** The launcher JVM's pid while it runs. */
  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  /** The launcher JVM and every process under it (YARN containers: the Spark JVMs and their shells). */
  pids(): number[] {
    const pid = this.pid;
    return pid === undefined ? [] : [pid, ...descendants(pid)];
  }

  async start(): Promise<void> {
    if (this.child) throw new Error('LocalYarn already started');
    this.home = await ensureLocalYarn();
    const { java, javaHome } = findJava();
    this.ports = {
      rm: await freePort(),
      scheduler: await freePort(),
      tracker: await freePort(),
      admin: await freePort(),
      web: await freePort(),
    };
    const launcherDir = join(this.workDir, 'launcher');
    mkdirSync(launcherDir, { recursive: true });
    mkdirSync(join(this.workDir, 'staging'), { recursive: true });
    writeFileSync(join(launcherDir, 'log4j.properties'), SERVER_LOG4J);
    for (const variant of VARIANTS) this.writeClient(variant, java, javaHome);

    const p = this.ports;
    const args = [
      '-Xmx1g',
      '-XX:+UseSerialGC',
      // A long-lived server on 2 cores: C1 code is fast enough and costs far less CPU to compile.
      '-XX:TieredStopAtLevel=1',
      '-Djava.net.preferIPv4Stack=true',
      `-Dlog4j.configuration=file:${join(launcherDir, 'log4j.properties')}`,
      ...ADD_OPENS,
      '-cp',
      [join(this.dir(), 'launcher.jar'), join(this.hadoopJars, '*')].join(':'),
      'LocalYarnLauncher',
      launcherDir,
      String(p.rm),
      String(p.scheduler),
      String(p.tracker),
      String(p.admin),
      String(p.web),
      String(this.options.nodeManagerMemoryMb ?? 4096),
    ];
    const started = Date.now();
    const from = this.events.length;
    // The NodeManager hands whitelisted variables (HADOOP_CONF_DIR, …) to containers that do not set them: none
    // of this machine's own Hadoop or Spark settings may reach them.
    const env: NodeJS.ProcessEnv = { ...process.env, JAVA_HOME: javaHome };
    for (const name of FOREIGN_ENV) delete env[name];
    // Its own process group: a terminal's Ctrl-C reaches Kappa first, which then stops this in order.
    const child = spawn(java, args, {
      cwd: launcherDir,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env,
    });
    this.child = child;
    process.once('exit', this.onExit);
    const log = createWriteStream(this.logFile, { flags: 'a' });
    child.stderr?.pipe(log);
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      let newline: number;
      while ((newline = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, newline).trim();
        partial = partial.slice(newline + 1);
        log.write(`${line}\n`);
        if (line.startsWith('kappa-yarn: ')) this.event(line.slice('kappa-yarn: '.length));
      }
    });
    // A write to a JVM that died must not crash Kappa: the exit is reported where it is awaited.
    child.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        log.write(`kappa: cannot run ${java}: ${err.message}\n`);
        this.event('exited');
        resolve();
      });
      child.once('exit', () => {
        this.event('exited');
        resolve();
      });
    });
    try {
      await this.waitEvent('ready', this.options.startTimeoutMs ?? 120_000, from);
    } catch (err) {
      await this.stop({ keepWorkDir: true });
      throw new Error(`the local YARN did not start: ${(err as Error).message} (log: ${this.logFile})`);
    }
    this.startupMs = Date.now() - started;
  }

  /**
   * Ends the cluster and every process it started, then removes the work dir. The launcher stops its
   * NodeManager (which kills the containers) when asked; whatever is left after a short grace, the launcher
   * included, is killed: its process tree (containers run in their own sessions but stay its descendants) and
   * any process whose command line names the work dir (a container whose NodeManager is gone).
   */
  async stop(options: { keepWorkDir?: boolean } = {}): Promise<void> {
    const child = this.child;
    if (child && this.running()) {
      const tree = this.pids();
      child.stdin?.write('stop\n');
      const grace = new Promise((r) => setTimeout(r, 5_000).unref());
      await Promise.race([this.exited, grace]);
      killAll([...tree, ...descendants(child.pid ?? -1)]);
      if (this.running()) child.kill('SIGKILL');
      await this.exited;
    }
    this.killEverything();
    process.removeListener('exit', this.onExit);
    this.child = undefined;
    if (!(options.keepWorkDir ?? this.options.keepWorkDir)) {
      rmSync(this.workDir, { recursive: true, force: true });
    }
  }

  /** Stops the ResourceManager (the NodeManager and the running containers stay): an RM outage. */
  async stopResourceManager(): Promise<void> {
    await this.command('rm-stop', 'rm-stopped', 60_000);
  }

  /** Starts the ResourceManager again on the same ports; it recovers the applications from its state store. */
  async startResourceManager(): Promise<void> {
    await this.command('rm-start', 'rm-started', 120_000);
  }

  /** Applications as the RM's REST API reports them (rejects while the RM is down). */
  async apps(query: { states?: string[] } = {}): Promise<LocalYarnApp[]> {
    const url = new URL(this.restAppsUrl);
    if (query.states) url.searchParams.set('states', query.states.join(','));
    const body = await getJson(url);
    const apps = (body as { apps?: { app?: Record<string, unknown>[] } | null }).apps?.app ?? [];
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    return apps.map((a) => ({
      id: text(a.id),
      name: text(a.name),
      state: text(a.state),
      finalStatus: text(a.finalStatus),
      diagnostics: text(a.diagnostics),
      tags: text(a.applicationTags)
        .split(',')
        .filter((t) => t !== ''),
    }));
  }

  /** `yarn application -kill ID` through the edge node's wrapper. */
  kill(appId: string, variant: ClientVariant = 'fast'): Promise<CommandResult> {
    return this.yarn(['application', '-kill', appId], { variant });
  }

  /** Runs the `yarn` wrapper of `variant` (default fast). */
  yarn(
    args: string[],
    options: { variant?: ClientVariant; timeoutMs?: number } = {},
  ): Promise<CommandResult> {
    return run(join(this.binDir(options.variant ?? 'fast'), 'yarn'), args, options.timeoutMs ?? 120_000);
  }

  /** Runs the `spark-submit` wrapper of `variant` (default fast). */
  sparkSubmit(
    args: string[],
    options: { variant?: ClientVariant; timeoutMs?: number } = {},
  ): Promise<CommandResult> {
    return run(
      join(this.binDir(options.variant ?? 'fast'), 'spark-submit'),
      args,
      options.timeoutMs ?? 180_000,
    );
  }

  /**
   * spark-submit arguments for the streaming workload in cluster mode, not waiting for the app to end:
   * `appArgs` go to RateApp (`--seconds N`, `--fail`, `--batch`), `conf` adds `--conf k=v` pairs.
   */
  streamingSubmitArgs(name: string, appArgs: string[] = [], conf: Record<string, string> = {}): string[] {
    return [
      '--master',
      'yarn',
      '--deploy-mode',
      'cluster',
      '--conf',
      'spark.yarn.submit.waitAppCompletion=false',
      ...Object.entries(conf).flatMap(([k, v]) => ['--conf', `${k}=${v}`]),
      '--name',
      name,
      '--class',
      this.streamingAppClass,
      this.streamingAppJar,
      ...appArgs,
    ];
  }

  private writeClient(variant: ClientVariant, java: string, javaHome: string): void {
    const p = this.port();
    const conf = this.confDir(variant);
    const bin = this.binDir(variant);
    const sparkConf = join(this.workDir, `spark-conf-${variant}`);
    for (const d of [conf, bin, sparkConf]) mkdirSync(d, { recursive: true });
    const fast = variant === 'fast';
    writeFileSync(
      join(conf, 'core-site.xml'),
      siteXml({ 'fs.defaultFS': 'file:///', ...(fast ? FAST_FAIL_CORE : {}) }),
    );
    writeFileSync(
      join(conf, 'yarn-site.xml'),
      siteXml({
        'yarn.resourcemanager.hostname': HOST,
        'yarn.resourcemanager.address': `${HOST}:${p.rm}`,
        'yarn.resourcemanager.scheduler.address': `${HOST}:${p.scheduler}`,
        'yarn.resourcemanager.resource-tracker.address': `${HOST}:${p.tracker}`,
        'yarn.resourcemanager.admin.address': `${HOST}:${p.admin}`,
        'yarn.resourcemanager.webapp.address': `${HOST}:${p.web}`,
        ...(fast ? FAST_FAIL_YARN : {}),
      }),
    );
    writeFileSync(join(conf, 'log4j.properties'), CLIENT_LOG4J);

    // Spark's defaults for this edge node; flags given to spark-submit override them.
    const sparkDefaults: Record<string, string> = {
      // The Spark jars are on this (the only) node already: no upload, no localization per submit.
      'spark.yarn.jars': `local:${join(this.sparkHome, 'jars')}/*`,
      'spark.yarn.stagingDir': `file://${join(this.workDir, 'staging')}`,
      'spark.driver.host': HOST,
      'spark.driver.bindAddress': HOST,
      'spark.yarn.appMasterEnv.SPARK_LOCAL_IP': HOST,
      'spark.executorEnv.SPARK_LOCAL_IP': HOST,
      'spark.ui.enabled': 'false',
      'spark.driver.memory': '512m',
      'spark.executor.memory': '512m',
      'spark.executor.instances': '1',
      'spark.executor.cores': '1',
      // The AM reads the RM with the submitting client's Hadoop conf: with the fast-fail one each heartbeat
      // fails after 10 s, and Spark's default of 5 failures ends the attempt after ~65 s of RM outage. A real
      // AM (default conf) waits 15 minutes per call; this keeps the fast variant's apps alive as long.
      ...(fast ? { 'spark.yarn.scheduler.reporterThread.maxFailures': '100' } : {}),
    };
    writeFileSync(
      join(sparkConf, 'spark-defaults.conf'),
      Object.entries(sparkDefaults)
        .map(([k, v]) => `${k} ${v}\n`)
        .join(''),
    );

    const header = (what: string) =>
      `#!/usr/bin/env bash\n# ${what} for Kappa's local YARN (${variant} client conf), written by src/sandbox/local-yarn.ts.\n`;
    // bin/yarn's dispatch: these subcommands run ApplicationCLI with the subcommand as its first argument.
    writeExecutable(
      join(bin, 'yarn'),
      `${header('The real Hadoop 3.4.1 `yarn` client CLI')}` +
        `sub="\${1:-}"\n` +
        `[ $# -gt 0 ] && shift\n` +
        `case "$sub" in\n` +
        `  application|applicationattempt|container) class=org.apache.hadoop.yarn.client.cli.ApplicationCLI; set -- "$sub" "$@" ;;\n` +
        `  logs) class=org.apache.hadoop.yarn.client.cli.LogsCLI ;;\n` +
        `  node) class=org.apache.hadoop.yarn.client.cli.NodeCLI ;;\n` +
        `  queue) class=org.apache.hadoop.yarn.client.cli.QueueCLI ;;\n` +
        `  version) class=org.apache.hadoop.util.VersionInfo ;;\n` +
        `  *) echo "Usage: yarn application|applicationattempt|container|logs|node|queue|version [OPTIONS]" >&2; exit 1 ;;\n` +
        `esac\n` +
        `exec ${sh(java)} ${CLIENT_JVM.join(' ')} -Djava.net.preferIPv4Stack=true -Dhadoop.log.dir=${sh(this.workDir)} -Dhadoop.root.logger=INFO,console \\\n` +
        `  -cp ${sh(`${conf}:${this.hadoopJars}/*`)} "$class" "$@"\n`,
    );
    writeExecutable(
      join(bin, 'spark-submit'),
      `${header('The real Spark 4.0.1 spark-submit')}` +
        `export JAVA_HOME=${sh(javaHome)}\n` +
        `export SPARK_HOME=${sh(this.sparkHome)}\n` +
        `export HADOOP_CONF_DIR=${sh(conf)}\n` +
        `export SPARK_CONF_DIR=${sh(sparkConf)}\n` +
        `# Spark binds to the first non-loopback interface otherwise.\n` +
        `export SPARK_LOCAL_IP=${HOST}\n` +
        `# Spark reads YARN_CONF_DIR too: another cluster's would reach the submit.\n` +
        `unset YARN_CONF_DIR SPARK_DIST_CLASSPATH\n` +
        `exec "$SPARK_HOME/bin/spark-submit" "$@"\n`,
    );
  }

  private dir(): string {
    if (!this.home) throw new Error('LocalYarn not started');
    return this.home;
  }

  private port(): Ports {
    if (!this.ports) throw new Error('LocalYarn not started');
    return this.ports;
  }

  private running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  private event(name: string): void {
    this.events.push(name);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** Waits for the launcher's next `name` event line (or one seen since `from`). */
  private async waitEvent(name: string, timeoutMs: number, from = 0): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = this.events.slice(from);
      if (seen.some((e) => e === name || e.startsWith(`${name} `))) return;
      const error = seen.find((e) => e.startsWith('error '));
      if (error) throw new Error(error.slice('error '.length));
      if (seen.includes('exited')) throw new Error(`the launcher exited (log: ${this.logFile})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no "${name}" from the launcher within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private async command(command: string, done: string, timeoutMs: number): Promise<void> {
    if (!this.running()) throw new Error('LocalYarn is not running');
    const from = this.events.length;
    this.child?.stdin?.write(`${command}\n`);
    await this.waitEvent(done, timeoutMs, from);
  }

  /** Synchronous, for process exit: SIGKILL the launcher, its tree and any container left in the work dir. */
  private killEverything(): void {
    const pids = this.pids();
    killAll([...pids, ...processesMentioning(join(this.workDir, 'launcher'))]);
  }
}

function run(file: string, args: string[], timeoutMs: number): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: timeoutMs, maxBuffer: 16 << 20, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        const timedOut = err?.killed === true;
        resolve({ code, timedOut, stdout, stderr, durationMs: Date.now() - started });
      },
    );
  });
}

function getJson(url: URL): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Accept: 'application/json' }, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${url.href}: ${res.statusCode} ${body.slice(0, 200)}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(new Error(`GET ${url.href}: not JSON: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
