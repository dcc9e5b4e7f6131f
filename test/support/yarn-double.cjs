#!/usr/bin/env node
/*
 * Test double for the Hadoop `yarn application` CLI and Spark's `spark-submit` (YARN cluster mode), installed on
 * the test edge node (a real sshd on loopback). It stands in for a ResourceManager we cannot run in every test,
 * and prints exactly what the real tools print (Hadoop's ApplicationCLI, Spark's yarn Client; see
 * shared/facts/yarn-and-spark.md): the same stdout/stderr split, formats, messages and exit codes.
 *
 * State lives in $YARN_DOUBLE_STATE/apps.json (guarded by a lock directory); every call is appended to
 * $YARN_DOUBLE_STATE/calls.log as a JSON line { at, tool, args } so tests can count them.
 * A submitted app is ACCEPTED, then RUNNING after RUNNING_AFTER_MS. $YARN_DOUBLE_STATE/rm-down makes the yarn
 * client fail as it does when the ResourceManager cannot be reached.
 *
 * Usage (via small wrappers): yarn-double.cjs yarn application -list|-status|-kill ...
 *                             yarn-double.cjs spark-submit [options] <jar> [args]
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const STATE = process.env.YARN_DOUBLE_STATE;
const RUNNING_AFTER_MS = 300;
const STATES = ['NEW', 'NEW_SAVING', 'SUBMITTED', 'ACCEPTED', 'RUNNING', 'FINISHED', 'FAILED', 'KILLED'];
const LIVE = ['SUBMITTED', 'ACCEPTED', 'RUNNING'];

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withState(change) {
  const lock = path.join(STATE, 'lock');
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (i > 20000) throw new Error('yarn double: state lock held too long');
      sleepSync(1);
    }
  }
  try {
    const file = path.join(STATE, 'apps.json');
    const state = fs.existsSync(file)
      ? JSON.parse(fs.readFileSync(file, 'utf8'))
      : { clusterTimestamp: 1700000000000, nextSeq: 1, apps: [] };
    const now = Date.now();
    for (const app of state.apps) {
      if (app.state === 'ACCEPTED' && now - app.startTime >= RUNNING_AFTER_MS) {
        app.state = 'RUNNING';
        app.progress = 0.1;
      }
    }
    const result = change(state, now);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify(state));
    fs.renameSync(`${file}.tmp`, file);
    return result;
  } finally {
    fs.rmdirSync(lock);
  }
}

function log4j(level, logger, message) {
  const d = new Date();
  const p = (n, w = 2) => String(n).padStart(w, '0');
  const stamp = `${p(d.getFullYear() % 100)}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  process.stderr.write(`${stamp} ${level} ${logger}: ${message}\n`);
}

/** Java's String.format("%30s\t%20s\t%20s\t%10s\t%10s\t%18s\t%18s\t%15s\t%35s", ...). */
function row(fields) {
  const widths = [30, 20, 20, 10, 10, 18, 18, 15, 35];
  return fields.map((f, i) => String(f).padStart(widths[i])).join('\t');
}

/** DecimalFormat("###.##%"). */
function percent(progress) {
  return `${Number((progress * 100).toFixed(2))}%`;
}

function trackingUrl(app) {
  if (app.state === 'ACCEPTED' || app.state === 'SUBMITTED') return 'N/A';
  return LIVE.includes(app.state)
    ? `http://rm-host:8088/proxy/${app.id}/`
    : `http://rm-host:8088/cluster/app/${app.id}`;
}

function connectLine() {
  log4j(
    'INFO',
    'client.DefaultNoHARMFailoverProxyProvider',
    'Connecting to ResourceManager at rm-host/127.0.0.1:8032',
  );
}

function rmDown() {
  if (!fs.existsSync(path.join(STATE, 'rm-down'))) return false;
  connectLine();
  for (let i = 0; i < 3; i++) {
    log4j(
      'INFO',
      'ipc.Client',
      `Retrying connect to server: rm-host/127.0.0.1:8032. Already tried ${i} time(s); retry policy is RetryUpToMaximumCountWithFixedSleep(maxRetries=10, sleepTime=1000 MILLISECONDS)`,
    );
  }
  process.stderr.write(
    'Exception in thread "main" java.net.ConnectException: Call From edge-1/127.0.0.1 to rm-host:8032 failed on connection exception: java.net.ConnectException: Connection refused\n',
  );
  process.exitCode = 255;
  return true;
}

function yarnApplication(args) {
  if (args[0] !== 'application') {
    process.stderr.write(`Error: Could not find or load main class ${args[0]}\n`);
    process.exitCode = 1;
    return;
  }
  if (rmDown()) return;
  const op = args[1];
  if (op === '-list') return list(args.slice(2));
  if (op === '-status') return status(args[2]);
  if (op === '-kill') return kill(args[2]);
  process.stdout.write(`Missing argument for options\nusage: application\n`);
  process.exitCode = 255;
}

function list(args) {
  let states = LIVE;
  const at = args.indexOf('-appStates');
  if (at >= 0) {
    const wanted = (args[at + 1] || '')
      .split(',')
      .map((s) => s.trim().toUpperCase())
      .filter(Boolean);
    if (wanted.includes('ALL')) states = STATES;
    else {
      for (const s of wanted) {
        if (!STATES.includes(s)) {
          process.stdout.write(
            `The application state ${s} is invalid.\nThe valid application state can be one of the following: ALL,${STATES.join(',')}\n`,
          );
          process.exitCode = 255;
          return;
        }
      }
      states = STATES.filter((s) => wanted.includes(s));
    }
  }
  connectLine();
  const apps = withState((state) => state.apps.filter((a) => states.includes(a.state)));
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

function status(id) {
  connectLine();
  const app = withState((state) => state.apps.find((a) => a.id === id));
  if (!app) {
    process.stdout.write(`Application with id '${id}' doesn't exist in RM or Timeline Server.\n`);
    process.exitCode = 255;
    return;
  }
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
    `\tRPC Port : ${app.state === 'RUNNING' ? 43211 : -1}`,
    `\tAM Host : ${app.state === 'RUNNING' ? 'worker-3' : 'N/A'}`,
    '\tAggregate Resource Allocation : 123456 MB-seconds, 4567 vcore-seconds',
    '\tAggregate Resource Preempted : 0 MB-seconds, 0 vcore-seconds',
    `\tLog Aggregation Status : ${LIVE.includes(app.state) ? 'NOT_START' : 'SUCCEEDED'}`,
    `\tDiagnostics : ${app.diagnostics}`,
    '\tUnmanaged Application : false',
    '\tApplication Node Label Expression : <Not set>',
    '\tAM container Node Label Expression : <DEFAULT_PARTITION>',
    '\tTimeoutType : LIFETIME\tExpiryTime : UNLIMITED\tRemainingTime : -1seconds',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function kill(id) {
  connectLine();
  const outcome = withState((state, now) => {
    const app = state.apps.find((a) => a.id === id);
    if (!app) return 'unknown';
    if (!LIVE.includes(app.state)) return 'finished';
    Object.assign(app, {
      state: 'KILLED',
      finalStatus: 'KILLED',
      finishTime: now,
      diagnostics: `Application killed by user.`,
    });
    return 'killed';
  });
  if (outcome === 'unknown') {
    process.stdout.write(`Application with id '${id}' doesn't exist in RM.\n`);
    process.exitCode = 255;
  } else if (outcome === 'finished') {
    process.stdout.write(`Application ${id} has already finished \n`);
  } else {
    process.stdout.write(`Killing application ${id}\n`);
    log4j('INFO', 'impl.YarnClientImpl', `Killed application ${id}`);
  }
}

function sparkSubmit(args) {
  const conf = {};
  let name;
  let master;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--name') name = args[++i];
    else if (args[i] === '--master') master = args[++i];
    else if (args[i] === '--conf') {
      const [k, ...v] = String(args[++i]).split('=');
      conf[k] = v.join('=');
    } else if (
      [
        '--deploy-mode',
        '--class',
        '--queue',
        '--num-executors',
        '--executor-memory',
        '--driver-memory',
      ].includes(args[i])
    )
      i++;
  }
  if (master === 'yarn' && !process.env.HADOOP_CONF_DIR && !process.env.YARN_CONF_DIR) {
    process.stderr.write(
      'Exception in thread "main" org.apache.spark.SparkException: When running with master \'yarn\' either HADOOP_CONF_DIR or YARN_CONF_DIR must be set in the environment.\n',
    );
    process.exitCode = 1;
    return;
  }
  if (rmDown()) return;
  name = name || 'Spark';
  log4j('INFO', 'Client', 'Requesting a new application from cluster with 1 NodeManagers');
  const id = withState((state, now) => {
    const appId = `application_${state.clusterTimestamp}_${String(state.nextSeq++).padStart(4, '0')}`;
    state.apps.push({
      id: appId,
      name,
      type: 'SPARK',
      user: process.env.USER || 'spark',
      queue: 'default',
      state: 'ACCEPTED',
      finalStatus: 'UNDEFINED',
      progress: 0,
      startTime: now,
      finishTime: 0,
      diagnostics: '',
      tags: (conf['spark.yarn.tags'] || '').toLowerCase(),
    });
    return appId;
  });
  log4j('INFO', 'Client', `Submitting application ${id} to ResourceManager`);
  log4j('INFO', 'YarnClientImpl', `Submitted application ${id}`);
  log4j('INFO', 'Client', `Application report for ${id} (state: ACCEPTED)`);
  process.stderr.write(
    `${['client token: N/A', 'diagnostics: AM container is launched, waiting for AM container to Register with RM', 'ApplicationMaster host: N/A', 'ApplicationMaster RPC port: -1', 'queue: default', 'start time: ' + Date.now(), 'final status: UNDEFINED', `tracking URL: http://rm-host:8088/proxy/${id}/`, `user: ${process.env.USER || 'spark'}`].map((l) => `\t ${l}`).join('\n')}\n`,
  );
  if (conf['spark.yarn.submit.waitAppCompletion'] === 'false') return;
  // Without waitAppCompletion=false spark-submit stays until the app ends, as the real one does.
  for (;;) {
    sleepSync(500);
    const app = withState((state) => state.apps.find((a) => a.id === id));
    if (!LIVE.includes(app.state)) {
      log4j('INFO', 'Client', `Application report for ${id} (state: ${app.state})`);
      if (app.finalStatus !== 'SUCCEEDED') {
        process.stderr.write(
          `Exception in thread "main" org.apache.spark.SparkException: Application ${id} finished with failed status\n`,
        );
        process.exitCode = 1;
      }
      return;
    }
  }
}

function main() {
  if (!STATE) {
    process.stderr.write('yarn double: YARN_DOUBLE_STATE is not set\n');
    process.exit(2);
  }
  const [tool, ...args] = process.argv.slice(2);
  fs.appendFileSync(path.join(STATE, 'calls.log'), JSON.stringify({ at: Date.now(), tool, args }) + '\n');
  if (tool === 'yarn') yarnApplication(args);
  else if (tool === 'spark-submit') sparkSubmit(args);
  else {
    process.stderr.write(`yarn double: unknown tool ${tool}\n`);
    process.exitCode = 2;
  }
}

main();
