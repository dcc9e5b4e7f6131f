/*
 * `yarn logs -applicationId ID [-size N]` for the yarn double (yarn-double.cjs hands `yarn logs …` here), as
 * Hadoop 3.4.1's LogsCLI answers, on the apps of yarn-model.cjs.
 *
 * Recorded from the real LogsCLI against the real local YARN (src/sandbox/local-yarn.ts, log aggregation off, as
 * there and on many clusters), paths and ports as printed there with the double's user and RM address:
 *   - an id the RM does not know: "Unable to get ApplicationState…", "Can not find the appOwner…", "Could not
 *     locate application logs for ID" on stderr, exit 255;
 *   - a RUNNING app: for each container "Can not find any log file matching the pattern: [ALL] for the container:
 *     C within the application: ID", then "Can not find the logs for the application: ID with the appOwner: U";
 *     exit 255;
 *   - a finished app: "File /tmp/logs/U/logs-tfile/ID does not exist", the same for bucket-logs-tfile/<seq>, a
 *     blank line, "Can not find any log file matching the pattern: [ALL] for the application: ID", "Can not find
 *     the logs for the application: ID with the appOwner: U"; exit 255.
 * With the marker file `log-aggregation` in $YARN_DOUBLE_STATE the cluster has logs to give: each container's
 * files in the layout of Hadoop 3.4's LogToolUtils (read from its class files, not recorded: the test cluster
 * aggregates nothing): `Container: C on NODE`, `LogAggregationType: LOCAL` (running, from the NodeManager) or
 * `AGGREGATED` (finished), a line of `=`, `LogType:`, `LogLastModifiedTime:`, `LogLength:`, `LogContents:`, the
 * file (its last |N| bytes with `-size -N`, first N with `-size N`), `End of LogType:`. What the files hold is
 * made up: one Spark-like log line per second the app ran, so a running app's log grows.
 */
'use strict';
const { Buffer } = require('node:buffer');

const NODE = 'worker-3';
const NM_PORT = 45454;
const MAX_LINES = 5000;

/** Java's `EEE MMM dd HH:mm:ss Z yyyy` in UTC: `Thu Nov 26 14:03:22 +0000 2026`. */
function javaDate(ms) {
  const d = new Date(ms);
  const [day, month] = [d.toUTCString().slice(0, 3), d.toUTCString().slice(8, 11)];
  const p2 = (n) => String(n).padStart(2, '0');
  const time = `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`;
  return `${day} ${month} ${p2(d.getUTCDate())} ${time} +0000 ${d.getUTCFullYear()}`;
}

/** Spark's log4j layout, `26/11/26 14:03:22 INFO Class: message`. */
function sparkLine(ms, cls, message) {
  const d = new Date(ms);
  const p2 = (n) => String(n).padStart(2, '0');
  const stamp = `${p2(d.getFullYear() % 100)}/${p2(d.getMonth() + 1)}/${p2(d.getDate())} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  return `${stamp} INFO ${cls}: ${message}`;
}

function containers(app) {
  const [, ts, seq] = /^application_(\d+)_(\d+)$/.exec(app.id);
  return [1, 2].map((n) => `container_e01_${ts}_${seq}_01_${String(n).padStart(6, '0')}`);
}

/** The files of one container: the driver (AM) logs a progress line a second, the executor a finished task. */
function files(app, container, now) {
  const end = app.finishTime || now;
  const seconds = Math.min(MAX_LINES, Math.max(0, Math.floor((end - app.startTime) / 1000)));
  const driver = container.endsWith('000001');
  const lines = [];
  lines.push(
    sparkLine(app.startTime, driver ? 'ApplicationMaster' : 'YarnCoarseGrainedExecutorBackend', 'Started'),
  );
  for (let i = 1; i <= seconds; i++) {
    const at = app.startTime + i * 1000;
    lines.push(
      driver
        ? sparkLine(at, 'MicroBatchExecution', `Streaming query made progress: ${app.name} batch ${i}`)
        : sparkLine(
            at,
            'Executor',
            `Finished task 0.0 in stage ${i}.0 (TID ${i}). 2045 bytes result sent to driver`,
          ),
    );
  }
  if (app.finishTime && app.diagnostics) lines.push(sparkLine(end, 'ApplicationMaster', app.diagnostics));
  return [
    { type: 'stderr', text: lines.join('\n') + '\n', modified: end },
    { type: 'stdout', text: '', modified: app.startTime },
  ];
}

function bounded(text, size) {
  if (size === undefined) return text;
  const bytes = Buffer.from(text, 'utf8');
  const n = Math.min(Math.abs(size), bytes.length);
  return (size < 0 ? bytes.subarray(bytes.length - n) : bytes.subarray(0, n)).toString('utf8');
}

function printLogs(app, live, size, now) {
  const out = [];
  for (const container of containers(app)) {
    const head = `Container: ${container} on ${live ? `${NODE}:${NM_PORT}` : `${NODE}_${NM_PORT}`}`;
    out.push(`${head}\nLogAggregationType: ${live ? 'LOCAL' : 'AGGREGATED'}\n${'='.repeat(head.length)}\n`);
    for (const file of files(app, container, now)) {
      const end = `End of LogType:${file.type}`;
      out.push(
        `LogType:${file.type}\nLogLastModifiedTime:${javaDate(file.modified)}\n` +
          `LogLength:${Buffer.byteLength(file.text)}\nLogContents:\n${bounded(file.text, size)}\n` +
          `${end}\n${'*'.repeat(end.length + 50)}\n\n`,
      );
    }
  }
  process.stdout.write(out.join(''));
}

/** `yarn logs …`: args after `logs`; `env` is the double's { STATE, USER, yarn (the model), log, connecting }. */
function yarnLogs(args, env) {
  const at = args.indexOf('-applicationId');
  const id = at >= 0 ? args[at + 1] : undefined;
  const sizeAt = args.indexOf('-size');
  const size = sizeAt >= 0 ? Number(args[sizeAt + 1]) : undefined;
  if (!id) {
    process.stderr.write(
      'None of applicationId, appAttemptId and containerId is available,  one of them must be specified.\n',
    );
    process.exitCode = 255;
    return;
  }
  env.log('INFO', 'org.apache.hadoop.yarn.client.DefaultNoHARMFailoverProxyProvider', env.connecting);
  const app = env.yarn.apps(env.STATE).find((a) => a.id === id);
  const fail = (lines) => {
    process.stderr.write(lines.join('\n') + '\n');
    process.exitCode = 255;
  };
  if (!app) {
    return fail([
      'Unable to get ApplicationState. Attempting to fetch logs directly from the filesystem.',
      'Can not find the appOwner. Please specify the correct appOwner',
      `Could not locate application logs for ${id}`,
    ]);
  }
  const live = env.yarn.isLive(app.state);
  if (env.marked('log-aggregation')) return printLogs(app, live, size, Date.now());
  const owner = `Can not find the logs for the application: ${id} with the appOwner: ${app.user}`;
  if (live) {
    return fail([
      ...containers(app).map(
        (c) =>
          `Can not find any log file matching the pattern: [ALL] for the container: ${c} within the application: ${id}`,
      ),
      owner,
    ]);
  }
  const seq = /_(\d+)$/.exec(id)[1].slice(-4);
  fail([
    `File /tmp/logs/${app.user}/logs-tfile/${id} does not exist`,
    `File /tmp/logs/${app.user}/bucket-logs-tfile/${seq}/${id} does not exist`,
    '',
    `Can not find any log file matching the pattern: [ALL] for the application: ${id}`,
    owner,
  ]);
}

module.exports = { yarnLogs };
