#!/usr/bin/env node
/*
 * Test double for Hadoop's `yarn application` CLI (ApplicationCLI, Hadoop 3.4) and Spark's `spark-submit` to
 * YARN in cluster mode (Spark 4), installed on the test edge node (a real sshd on loopback) and run there by
 * plain `node`. It stands in for a ResourceManager we cannot run in every test, and prints what the tools
 * print, as the real Hadoop 3.4 / Spark 4 tools print it: the same stdout/stderr split (stdout: -list rows,
 * the -status report, -kill and "doesn't exist" messages; stderr: every log4j line; spark-submit writes nothing
 * on stdout), the same formats, messages and exit codes (0; 255 for an unknown id; 1 for a Java exception).
 *
 * The apps are yarn-model.cjs's (ids, states, live set, ACCEPTED -> RUNNING, kill semantics), kept in
 * $YARN_DOUBLE_STATE; every call is appended to $YARN_DOUBLE_STATE/calls.log as a JSON line { at, tool, args }
 * so tests can count them. Marker files in $YARN_DOUBLE_STATE take the ResourceManager away:
 *   rm-fast-fail  as with a fast-fail client config: 9 retries a second apart, a ConnectException stack trace on
 *                 stderr, nothing on stdout, exit 1 (spark-submit: the same after its start-up lines)
 *   rm-hang       as with the default client config, which retries for up to 15 minutes: retry lines on stderr
 *                 until the process is killed, or until the marker is gone (the ResourceManager is back): then the
 *                 call carries on and answers, as the client's next retry would
 *   rm-down       yarn: the double's older answer, three retry lines and a one-line ConnectException, exit 255
 *                 (the real client never exits 255 here; a test asserts this answer); spark-submit: as fast-fail
 * Two more markers change what the tools do:
 *   garbage-list  `yarn application -list` prints something that is not an application list on stdout (what a
 *                 broken wrapper script or a client pointed at the wrong service might print) and exits 0
 *   submit-linger spark-submit stays for the number of milliseconds the file holds after YARN accepted the app,
 *                 logging an application report every second, before its shutdown hook (as a slow client does):
 *                 a submission interrupted then has its app in YARN already
 * `yarn logs` is yarn-logs-double.cjs's (LogsCLI's answers; its marker `log-aggregation` gives the cluster logs).
 * Like the JVM, whose System.err swallows a broken pipe, the double does not die when its output pipe closes (the
 * SSH connection dropped): it runs on until it ends or is killed.
 * Where it differs from the real tools on purpose: the application jar is taken as present (never read), and
 * spark-submit without HADOOP_CONF_DIR/YARN_CONF_DIR prints only the exception line (the real one adds the JVM's
 * start-up warning before it and the stack after it).
 *
 * Usage (via small wrappers): yarn-double.cjs yarn application -list|-status|-kill ...
 *                             yarn-double.cjs yarn logs -applicationId ID [-size N]
 *                             yarn-double.cjs spark-submit [options] <jar> [args]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { randomUUID } = require('node:crypto');
const yarn = require('./yarn-model.cjs');
const { yarnLogs } = require('./yarn-logs-double.cjs');

const STATE = process.env.YARN_DOUBLE_STATE;
const RM = { host: 'rm-host', address: 'rm-host/127.0.0.1:8032', web: 'http://rm-host:8088' };
const USER = process.env.USER || 'spark';

const p2 = (n, w = 2) => String(n).padStart(w, '0');

/**
 * A log4j logger in one of the two layouts: Hadoop's (`2026-11-26 08:24:49,658 INFO client.RMProxy: …`, two
 * components of the class name) or Spark's (`26/11/26 08:25:55 INFO Client: …`, one component).
 */
function logger(layout) {
  return (level, className, message) => {
    const d = new Date();
    const time = `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
    const date = `${p2(d.getMonth() + 1)}/${p2(d.getDate())}`;
    const [stamp, components] =
      layout === 'hadoop'
        ? [`${d.getFullYear()}-${date.replace('/', '-')} ${time},${p2(d.getMilliseconds(), 3)}`, 2]
        : [`${p2(d.getFullYear() % 100)}/${date} ${time}`, 1];
    const name = className.split('.').slice(-components).join('.');
    process.stderr.write(`${stamp} ${level} ${name}: ${message}\n`);
  };
}

const HADOOP = {
  proxyProvider: 'org.apache.hadoop.yarn.client.DefaultNoHARMFailoverProxyProvider',
  ipcClient: 'org.apache.hadoop.ipc.Client',
  retryHandler: 'org.apache.hadoop.io.retry.RetryInvocationHandler',
  yarnClient: 'org.apache.hadoop.yarn.client.api.impl.YarnClientImpl',
  configuration: 'org.apache.hadoop.conf.Configuration',
  resourceUtils: 'org.apache.hadoop.yarn.util.resource.ResourceUtils',
};

const CONNECTING = `Connecting to ResourceManager at ${RM.address}`;
const REFUSED = `Call From edge-1/127.0.0.1 to ${RM.host}:8032 failed on connection exception: java.net.ConnectException: Connection refused; For more details see:  http://wiki.apache.org/hadoop/ConnectionRefused`;

/** What the fast-fail client prints after its retries (the frames are those of `-list`, the one transcribed). */
const CONNECT_EXCEPTION = [
  `Exception in thread "main" java.net.ConnectException: ${REFUSED}`,
  ...[
    'java.base/jdk.internal.reflect.NativeConstructorAccessorImpl.newInstance0(Native Method)',
    'java.base/jdk.internal.reflect.NativeConstructorAccessorImpl.newInstance(NativeConstructorAccessorImpl.java:77)',
    'java.base/jdk.internal.reflect.DelegatingConstructorAccessorImpl.newInstance(DelegatingConstructorAccessorImpl.java:45)',
    'java.base/java.lang.reflect.Constructor.newInstanceWithCaller(Constructor.java:500)',
    'java.base/java.lang.reflect.Constructor.newInstance(Constructor.java:481)',
    'org.apache.hadoop.net.NetUtils.wrapWithMessage(NetUtils.java:961)',
    'org.apache.hadoop.net.NetUtils.wrapException(NetUtils.java:876)',
    'org.apache.hadoop.ipc.Client.getRpcResponse(Client.java:1588)',
    'org.apache.hadoop.ipc.Client.call(Client.java:1529)',
    'org.apache.hadoop.ipc.Client.call(Client.java:1426)',
    'org.apache.hadoop.ipc.ProtobufRpcEngine2$Invoker.invoke(ProtobufRpcEngine2.java:258)',
    'org.apache.hadoop.ipc.ProtobufRpcEngine2$Invoker.invoke(ProtobufRpcEngine2.java:139)',
    'jdk.proxy2/jdk.proxy2.$Proxy10.getApplications(Unknown Source)',
    'org.apache.hadoop.yarn.api.impl.pb.client.ApplicationClientProtocolPBClientImpl.getApplications(ApplicationClientProtocolPBClientImpl.java:316)',
    'java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)',
    'java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)',
    'java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)',
    'java.base/java.lang.reflect.Method.invoke(Method.java:569)',
    'org.apache.hadoop.io.retry.RetryInvocationHandler.invokeMethod(RetryInvocationHandler.java:437)',
    'org.apache.hadoop.io.retry.RetryInvocationHandler$Call.invokeMethod(RetryInvocationHandler.java:170)',
    'org.apache.hadoop.io.retry.RetryInvocationHandler$Call.invoke(RetryInvocationHandler.java:162)',
    'org.apache.hadoop.io.retry.RetryInvocationHandler$Call.invokeOnce(RetryInvocationHandler.java:100)',
    'org.apache.hadoop.io.retry.RetryInvocationHandler.invoke(RetryInvocationHandler.java:366)',
    'jdk.proxy2/jdk.proxy2.$Proxy11.getApplications(Unknown Source)',
    'org.apache.hadoop.yarn.client.api.impl.YarnClientImpl.getApplications(YarnClientImpl.java:667)',
    'org.apache.hadoop.yarn.client.cli.ApplicationCLI.listApplications(ApplicationCLI.java:484)',
    'org.apache.hadoop.yarn.client.cli.ApplicationCLI.executeListCommand(ApplicationCLI.java:1125)',
    'org.apache.hadoop.yarn.client.cli.ApplicationCLI.run(ApplicationCLI.java:184)',
    'org.apache.hadoop.util.ToolRunner.run(ToolRunner.java:82)',
    'org.apache.hadoop.util.ToolRunner.run(ToolRunner.java:97)',
    'org.apache.hadoop.yarn.client.cli.ApplicationCLI.main(ApplicationCLI.java:128)',
  ].map((frame) => `\tat ${frame}`),
  'Caused by: java.net.ConnectException: Connection refused',
  ...[
    'java.base/sun.nio.ch.Net.pollConnect(Native Method)',
    'java.base/sun.nio.ch.Net.pollConnectNow(Net.java:672)',
    'java.base/sun.nio.ch.SocketChannelImpl.finishConnect(SocketChannelImpl.java:946)',
    'org.apache.hadoop.net.SocketIOWithTimeout.connect(SocketIOWithTimeout.java:205)',
    'org.apache.hadoop.net.NetUtils.connect(NetUtils.java:614)',
    'org.apache.hadoop.ipc.Client$Connection.setupConnection(Client.java:668)',
    'org.apache.hadoop.ipc.Client$Connection.setupIOstreams(Client.java:789)',
    'org.apache.hadoop.ipc.Client$Connection.access$3800(Client.java:364)',
    'org.apache.hadoop.ipc.Client.getConnection(Client.java:1649)',
    'org.apache.hadoop.ipc.Client.call(Client.java:1473)',
  ].map((frame) => `\tat ${frame}`),
  '\t... 22 more',
];

/** Which ResourceManager outage a marker file asks for, if any. */
function outage() {
  return ['fast-fail', 'hang', 'down'].find((how) => marked(`rm-${how}`));
}

function marked(marker) {
  return fs.existsSync(path.join(STATE, marker));
}

/**
 * The client cannot reach the ResourceManager while calling `rpc`: exits with a code, or (hang) retries until
 * killed or until the ResourceManager is back, then returns true: the call goes on.
 */
function unreachable(how, rpc, log) {
  const retryPolicy = 'RetryUpToMaximumCountWithFixedSleep(maxRetries=10, sleepTime=1000 MILLISECONDS)';
  const ipcRetry = (i) =>
    log(
      'INFO',
      HADOOP.ipcClient,
      `Retrying connect to server: ${RM.address}. Already tried ${i} time(s); retry policy is ${retryPolicy}`,
    );
  if (how === 'hang') {
    for (let i = 0; marked('rm-hang'); i = (i + 1) % 10) {
      yarn.sleepSync(1000);
      ipcRetry(i);
    }
    return true;
  }
  if (how === 'down') {
    for (let i = 0; i < 3; i++) ipcRetry(i);
    process.stderr.write(
      `Exception in thread "main" java.net.ConnectException: Call From edge-1/127.0.0.1 to ${RM.host}:8032 failed on connection exception: java.net.ConnectException: Connection refused\n`,
    );
    process.exitCode = 255;
    return;
  }
  for (let retry = 1; retry <= 9; retry++) {
    yarn.sleepSync(1000);
    log(
      'INFO',
      HADOOP.retryHandler,
      `java.net.ConnectException: ${REFUSED}, while invoking ApplicationClientProtocolPBClientImpl.${rpc} over null. Retrying after sleeping for 1000ms. Current retry count: ${retry}.`,
    );
  }
  yarn.sleepSync(1000);
  process.stderr.write(CONNECT_EXCEPTION.join('\n') + '\n');
  process.exitCode = 1;
}

// --- yarn application ---

/** Java's String.format("%30s\t%20s\t%20s\t%10s\t%10s\t%18s\t%18s\t%15s\t%35s", ...). */
function row(fields) {
  const widths = [30, 20, 20, 10, 10, 18, 18, 15, 35];
  return fields.map((f, i) => String(f).padStart(widths[i])).join('\t');
}

/** DecimalFormat("###.##%"). */
function percent(progress) {
  return `${Number((progress * 100).toFixed(2))}%`;
}

/** The original tracking URL the CLI prints: the RM's app page once the RM ended the app, else none set. */
function trackingUrl(app) {
  return app.state === 'KILLED' || app.state === 'FAILED' ? `${RM.web}/cluster/app/${app.id}` : 'N/A';
}

/** Whether an AM registered (and so has a host and an RPC port) and has not been killed. */
function hasAm(app) {
  return app.state === 'RUNNING' || app.state === 'FINISHED';
}

function yarnApplication(args) {
  const log = logger('hadoop');
  if (args[0] === 'logs')
    return yarnLogs(args.slice(1), { STATE, yarn, log, connecting: CONNECTING, marked });
  if (args[0] !== 'application') {
    process.stderr.write(`Error: Could not find or load main class ${args[0]}\n`);
    process.exitCode = 1;
    return;
  }
  const op = args[1];
  if (!['-list', '-status', '-kill'].includes(op)) {
    process.stdout.write(`Missing argument for options\nusage: application\n`);
    process.exitCode = 255;
    return;
  }
  log('INFO', HADOOP.proxyProvider, CONNECTING);
  const states = op === '-list' ? listStates(args.slice(2)) : undefined;
  if (op === '-list' && !states) return;
  const how = outage();
  if (how && !unreachable(how, op === '-list' ? 'getApplications' : 'getApplicationReport', log)) return;
  if (op === '-list' && marked('garbage-list')) garbage();
  else if (op === '-list') list(states);
  else if (op === '-status') status(args[2], log);
  else kill(args[2], log);
}

/** The -appStates filter (default: the live states); prints the error and returns undefined if one is invalid. */
function listStates(args) {
  const at = args.indexOf('-appStates');
  if (at < 0) return yarn.LIVE_STATES;
  const wanted = (args[at + 1] || '')
    .split(',')
    .map((s) => s.trim().toUpperCase())
    .filter(Boolean);
  if (wanted.includes('ALL')) return yarn.STATES;
  const invalid = wanted.find((s) => !yarn.STATES.includes(s));
  if (invalid === undefined) return yarn.STATES.filter((s) => wanted.includes(s));
  process.stdout.write(
    `The application state ${invalid} is invalid.\nThe valid application state can be one of the following: ALL,${yarn.STATES.join(',')}\n`,
  );
  process.exitCode = 255;
  return undefined;
}

function list(states) {
  const apps = yarn.apps(STATE).filter((a) => states.includes(a.state));
  const out = [
    `Total number of applications (application-types: [], states: [${states.join(', ')}] and tags: []):${apps.length}`,
    row([
      'Application-Id',
      'Application-Name',
      'Application-Type',
      'User',
      'Queue',
      'State',
      'Final-State',
      'Progress',
      'Tracking-URL',
    ]),
    ...apps.map((a) =>
      row([
        a.id,
        a.name,
        a.type,
        a.user,
        a.queue,
        a.state,
        a.finalStatus,
        percent(a.progress),
        trackingUrl(a),
      ]),
    ),
  ];
  process.stdout.write(out.join('\n') + '\n');
}

/** Exit 0 and no list: a login banner, as printed by a wrapper script or a shell profile gone wrong. */
function garbage() {
  process.stdout.write(
    [
      '*******************************************************************',
      '* Authorized use only. This edge node is monitored.               *',
      '* Maintenance window: Saturday 02:00-04:00 UTC                    *',
      '*******************************************************************',
    ].join('\n') + '\n',
  );
}

function status(id, log) {
  const app = yarn.apps(STATE).find((a) => a.id === id);
  if (!app) {
    process.stdout.write(`Application with id '${id}' doesn't exist in RM or Timeline Server.\n`);
    process.exitCode = 255;
    return;
  }
  log('INFO', HADOOP.configuration, 'resource-types.xml not found');
  log('INFO', HADOOP.resourceUtils, "Unable to find 'resource-types.xml'.");
  const lines = [
    'Application Report : ',
    `\tApplication-Id : ${app.id}`,
    `\tApplication-Name : ${app.name}`,
    `\tApplication-Type : ${app.type}`,
    `\tUser : ${app.user}`,
    `\tQueue : ${app.queue}`,
    '\tApplication Priority : 0',
    `\tStart-Time : ${app.startTime}`,
    `\tFinish-Time : ${app.finishTime}`,
    `\tProgress : ${percent(app.progress)}`,
    `\tState : ${app.state}`,
    `\tFinal-State : ${app.finalStatus}`,
    `\tTracking-URL : ${trackingUrl(app)}`,
    `\tRPC Port : ${hasAm(app) ? 43211 : -1}`,
    `\tAM Host : ${hasAm(app) ? 'worker-3' : 'N/A'}`,
    '\tAggregate Resource Allocation : 123456 MB-seconds, 4567 vcore-seconds',
    '\tAggregate Resource Preempted : 0 MB-seconds, 0 vcore-seconds',
    '\tLog Aggregation Status : DISABLED',
    `\tDiagnostics : ${app.diagnostics}`,
    '\tUnmanaged Application : false',
    '\tApplication Node Label Expression : <Not set>',
    '\tAM container Node Label Expression : <DEFAULT_PARTITION>',
    '\tTimeoutType : LIFETIME\tExpiryTime : UNLIMITED\tRemainingTime : -1seconds',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function kill(id, log) {
  const outcome = yarn.kill(STATE, id);
  if (outcome === 'unknown') {
    process.stdout.write(`Application with id '${id}' doesn't exist in RM.\n`);
    process.exitCode = 255;
  } else if (outcome === 'finished') {
    process.stdout.write(`Application ${id} has already finished \n`);
  } else {
    process.stdout.write(`Killing application ${id}\n`);
    log('INFO', HADOOP.yarnClient, `Killed application ${id}`);
  }
}

// --- spark-submit ---

const SPARK_FLAGS = ['--verbose', '-v', '--supervise', '--help', '-h', '--version'];

/** spark-submit's command line: options (every one but the flags takes a value), the app resource, its args. */
function sparkArgs(args) {
  const options = {};
  const conf = {};
  let i = 0;
  for (; i < args.length && args[i].startsWith('-'); i++) {
    if (SPARK_FLAGS.includes(args[i])) continue;
    const [option, value] = [args[i], args[++i]];
    if (option === '--conf' || option === '-c') {
      const [k, ...v] = String(value).split('=');
      conf[k] = v.join('=');
    } else options[option] = value;
  }
  return { options, conf, resource: args[i] };
}

/** Spark's AM memory in cluster mode: the driver's, plus an overhead of 10% but at least 384 MB. */
function amMemory(driverMemory = '1g') {
  const [, n, unit] = /^(\d+)([kmgt]?)b?$/i.exec(driverMemory) || [driverMemory, '1', 'g'];
  const mb = Number(n) * { k: 1 / 1024, m: 1, g: 1024, t: 1024 * 1024 }[unit.toLowerCase() || 'm'];
  const overhead = Math.max(384, Math.floor(mb * 0.1));
  return { total: Math.floor(mb) + overhead, overhead };
}

function sparkSubmit(args) {
  const log = logger('spark');
  const { options, conf, resource = '' } = sparkArgs(args);
  const master = options['--master'] ?? conf['spark.master'];
  if (master === 'yarn' && !process.env.HADOOP_CONF_DIR && !process.env.YARN_CONF_DIR) {
    process.stderr.write(
      'Exception in thread "main" org.apache.spark.SparkException: When running with master \'yarn\' either HADOOP_CONF_DIR or YARN_CONF_DIR must be set in the environment.\n',
    );
    process.exitCode = 1;
    return;
  }
  const tmp = [`/tmp/spark-${randomUUID()}`, `/tmp/spark-${randomUUID()}`];
  const shutdown = () => {
    log('INFO', 'org.apache.spark.util.ShutdownHookManager', 'Shutdown hook called');
    for (const dir of tmp)
      log('INFO', 'org.apache.spark.util.ShutdownHookManager', `Deleting directory ${dir}`);
  };
  process.stderr.write('WARNING: Using incubator modules: jdk.incubator.vector\n');
  log(
    'WARN',
    'org.apache.hadoop.util.NativeCodeLoader',
    'Unable to load native-hadoop library for your platform... using builtin-java classes where applicable',
  );
  log('INFO', HADOOP.proxyProvider, CONNECTING);
  process.stderr.write("Using Spark's default log4j profile: org/apache/spark/log4j2-defaults.properties\n");
  const how = outage();
  if (how && !unreachable(how === 'down' ? 'fast-fail' : how, 'getNewApplication', log)) return shutdown();
  const name = options['--name'] ?? conf['spark.app.name'] ?? options['--class'] ?? path.basename(resource);
  const app = yarn.submit(STATE, { name, user: USER, tags: conf['spark.yarn.tags'] ?? '' });
  const client = (level, message) => log(level, 'org.apache.spark.deploy.yarn.Client', message);
  const am = amMemory(options['--driver-memory'] ?? conf['spark.driver.memory']);
  log('INFO', HADOOP.configuration, 'resource-types.xml not found');
  log('INFO', HADOOP.resourceUtils, "Unable to find 'resource-types.xml'.");
  client(
    'INFO',
    'Verifying our application has not requested more than the maximum memory capability of the cluster (8192 MB per container)',
  );
  client(
    'INFO',
    `Will allocate AM container, with ${am.total} MB memory including ${am.overhead} MB overhead`,
  );
  client('INFO', 'Setting up container launch context for our AM');
  client('INFO', 'Setting up the launch environment for our AM container');
  client('INFO', 'Preparing resources for our AM container');
  client(
    'WARN',
    'Neither spark.yarn.jars nor spark.yarn.archive} is set, falling back to uploading libraries under SPARK_HOME.',
  );
  const staging = `file:/home/${USER}/.sparkStaging/${app.id}`;
  const libs = `__spark_libs__${randomDigits()}.zip`;
  client('INFO', `Uploading resource file:${tmp[0]}/${libs} -> ${staging}/${libs}`);
  if (!/^[a-z][a-z0-9+.-]*:/i.test(resource) || resource.startsWith('file:')) {
    const local = path.resolve(resource.replace(/^file:/, ''));
    client('INFO', `Uploading resource file:${local} -> ${staging}/${path.basename(local)}`);
  }
  client(
    'INFO',
    `Uploading resource file:${tmp[0]}/__spark_conf__${randomDigits()}.zip -> ${staging}/__spark_conf__.zip`,
  );
  const security = (message) => log('INFO', 'org.apache.spark.SecurityManager', message);
  security(`Changing view acls to: ${USER}`);
  security(`Changing modify acls to: ${USER}`);
  security(`Changing view acls groups to: ${USER}`);
  security(`Changing modify acls groups to: ${USER}`);
  security(
    `SecurityManager: authentication disabled; ui acls disabled; users with view permissions: ${USER} groups with view permissions: EMPTY; users with modify permissions: ${USER}; groups with modify permissions: EMPTY; RPC SSL disabled`,
  );
  client('INFO', `Submitting application ${app.id} to ResourceManager`);
  log('INFO', HADOOP.yarnClient, `Submitted application ${app.id}`);
  report(client, app);
  if (conf['spark.yarn.submit.waitAppCompletion'] !== 'false') awaitEnd(client, app);
  linger(client, app);
  shutdown();
}

/** With a submit-linger marker: the app's state every second for that many milliseconds. */
function linger(client, submitted) {
  const file = path.join(STATE, 'submit-linger');
  if (!fs.existsSync(file)) return;
  const until = Date.now() + Number(fs.readFileSync(file, 'utf8').trim() || 0);
  while (Date.now() < until) {
    yarn.sleepSync(Math.min(1000, until - Date.now()));
    const app = yarn.apps(STATE).find((a) => a.id === submitted.id);
    client('INFO', `Application report for ${app.id} (state: ${app.state})`);
  }
}

function randomDigits() {
  return String(Math.floor(Math.random() * 1e18));
}

/** Spark's application report: the state line, then the details (logged at every change of state). */
function report(client, app) {
  client('INFO', `Application report for ${app.id} (state: ${app.state})`);
  client('INFO', '');
  const details = [
    'client token: N/A',
    `diagnostics: ${app.diagnostics || 'N/A'}`,
    `ApplicationMaster host: ${hasAm(app) ? 'worker-3' : 'N/A'}`,
    `ApplicationMaster RPC port: ${hasAm(app) ? 43211 : -1}`,
    `queue: ${app.queue}`,
    `start time: ${app.startTime}`,
    `final status: ${app.finalStatus}`,
    `tracking URL: ${RM.web}/proxy/${app.id}/`,
    `user: ${app.user}`,
  ];
  process.stderr.write(details.map((l) => `\t ${l}\n`).join(''));
}

/** Without waitAppCompletion=false spark-submit stays until the app ends, reporting every second. */
function awaitEnd(client, submitted) {
  let last = submitted;
  for (;;) {
    yarn.sleepSync(1000);
    const app = yarn.apps(STATE).find((a) => a.id === submitted.id);
    if (app.state !== last.state) report(client, app);
    last = app;
    if (yarn.isLive(app.state)) continue;
    let failure;
    if (app.state === 'FAILED' || app.finalStatus === 'FAILED') {
      if (app.diagnostics) client('ERROR', `Application diagnostics message: ${app.diagnostics}`);
      failure = `Application ${app.id} finished with failed status`;
    } else if (app.state === 'KILLED' || app.finalStatus === 'KILLED')
      failure = `Application ${app.id} is killed`;
    if (failure) {
      process.stderr.write(`Exception in thread "main" org.apache.spark.SparkException: ${failure}\n`);
      process.exitCode = 1;
    }
    return;
  }
}

function main() {
  if (!STATE) {
    process.stderr.write('yarn double: YARN_DOUBLE_STATE is not set\n');
    process.exit(2);
  }
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  const [tool, ...args] = process.argv.slice(2);
  fs.appendFileSync(path.join(STATE, 'calls.log'), JSON.stringify({ at: Date.now(), tool, args }) + '\n');
  if (tool === 'yarn') yarnApplication(args);
  else if (tool === 'spark-submit') sparkSubmit(args);
  else {
    process.stderr.write(`yarn double: unknown tool ${tool}\n`);
    process.exitCode = 2;
  }
}

// Run by node: one call. Required (yarn-double-server.cjs runs the calls in one process): main and the parser.
if (require.main === module) main();
else module.exports = { main, sparkArgs };
