#!/usr/bin/env node
/*
 * The yarn/spark-submit double (yarn-double.cjs) as one long-lived server, for the benchmark
 * (scripts/bench-supervise.ts). Like yarn-double.cjs it stands in for Hadoop's `yarn` CLI and Spark's `spark-submit`
 * on the edge node, and answers every call it serves with the same stdout, stderr and exit code; but a call costs
 * the edge node a few ms of CPU (the server's part, a sh wrapper and a curl) instead of a node start-up (0.05-0.1
 * CPU-s), which the benchmark, with 1000 apps on a small machine, would count against Kappa's start-up. (A real yarn
 * or spark-submit is a JVM, ~1 CPU-s a call, on an edge node that is another machine.)
 *
 * `node yarn-double-server.cjs STATE_DIR SOCKET` serves HTTP on the UNIX socket SOCKET, prints `listening` once it
 * does, and runs until SIGTERM or until its stdin closes (whoever started it is gone). The wrappers (wrapperScript:
 * POSIX sh and one curl) send the tool in the path and, form-encoded, each argument as `a` and the env vars the
 * double reads that are set; the answer is a sh program the wrapper evals: it prints the call's stdout and stderr
 * and exits with its code. Each call runs yarn-double.cjs's code, compiled once, as a module of its own with a
 * `process` of its own (env, argv, stdout, stderr, exitCode, exit); yarn-model.cjs is the real one, loaded once.
 *
 * What the double answers by sleeping would stop every other call: the outage markers rm-hang and rm-fast-fail (and
 * rm-down for spark-submit), submit-linger, and spark-submit without waitAppCompletion=false (it waits for its
 * app). Such calls are refused before the double runs (so not in calls.log): exit 2 and a line on stderr.
 */
'use strict';
const { Buffer } = require('node:buffer');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { URLSearchParams } = require('node:url');
const vm = require('node:vm');
const model = require('./yarn-model.cjs');

/** The env vars yarn-double.cjs reads besides YARN_DOUBLE_STATE; sent only when set (set-but-empty is sent). */
const ENV = ['HADOOP_CONF_DIR', 'YARN_CONF_DIR', 'USER'];

/** Single-quoted for sh. */
const sq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The `yarn` or `spark-submit` wrapper that sends a call to the server at `socket`. Forks once, for curl: the
 * arguments become curl options by appending them to "$@" while shifting the originals off (POSIX sh has no arrays).
 */
function wrapperScript(tool, socket) {
  return [
    '#!/bin/sh',
    `# ${tool} of the yarn double's server mode (test/support/yarn-double-server.cjs): the server runs the call.`,
    `sock=${sq(socket)}`,
    'for a do shift; set -- "$@" --data-urlencode "a=$a"; done',
    ...ENV.map((name) => `[ -n "\${${name}+set}" ] && set -- "$@" --data-urlencode "${name}=$${name}"`),
    `answer=$(curl -fsS -H 'Expect:' --unix-socket "$sock" http://yarn-double/${tool} "$@") || {`,
    `  printf 'yarn double: no answer from the server at %s (curl exit %s); is it started?\\n' "$sock" "$?" >&2`,
    '  exit 2',
    '}',
    'eval "$answer"',
    // Every answer ends with `exit`: reaching this line means it was cut short.
    `printf 'yarn double: the server at %s gave no exit code\\n' "$sock" >&2`,
    'exit 2',
    '',
  ].join('\n');
}

/** A CommonJS file compiled once; each call of the result runs it as a new module with that `process`. */
function compile(file) {
  // A hashbang is valid only at the start of a script, not in a function body; the newline stays (line numbers).
  const source = fs.readFileSync(file, 'utf8').replace(/^#!.*/, '');
  const params = ['exports', 'require', 'module', '__filename', '__dirname', 'process'];
  const body = vm.compileFunction(source, params, { filename: file });
  return (requireFn, proc) => {
    const module = { exports: {} };
    body.call(module.exports, module.exports, requireFn, module, file, path.dirname(file), proc);
    return module.exports;
  };
}

const DOUBLE = path.join(__dirname, 'yarn-double.cjs');
const loadDouble = compile(DOUBLE);
const loadLogs = compile(path.join(__dirname, 'yarn-logs-double.cjs'));

class Exit {
  constructor(code) {
    this.code = code;
  }
}

class WouldBlock extends Error {}

/** The model with a sleepSync that throws: a call that gets to sleep anyway is refused rather than block. */
const nonBlockingModel = {
  ...model,
  sleepSync: () => {
    throw new WouldBlock('it would sleep');
  },
};

/** Why the per-process double would sleep on this call (and so block the server), or undefined. */
function wouldWait(double, state, tool, args, env) {
  const marker = (...names) => names.find((m) => fs.existsSync(path.join(state, m)));
  if (tool === 'yarn') {
    const rm = args[0] === 'application' && ['-list', '-status', '-kill'].includes(args[1]);
    const outage = rm && marker('rm-hang', 'rm-fast-fail');
    return outage ? `the ${outage} marker (the client retries)` : undefined;
  }
  if (tool !== 'spark-submit') return undefined;
  const { options, conf } = double.sparkArgs(args);
  const master = options['--master'] ?? conf['spark.master'];
  if (master === 'yarn' && !env.HADOOP_CONF_DIR && !env.YARN_CONF_DIR) return undefined; // fails at once
  const found = marker('rm-hang', 'rm-fast-fail', 'rm-down', 'submit-linger');
  if (found) return `the ${found} marker`;
  if (conf['spark.yarn.submit.waitAppCompletion'] !== 'false')
    return 'spark-submit without --conf spark.yarn.submit.waitAppCompletion=false (it waits for its app)';
  return undefined;
}

/** One call of the double, in-process: { stdout, stderr, code } as the per-process double would end. */
function call(state, tool, args, env) {
  const out = [];
  const err = [];
  const stream = (chunks) => ({
    write(chunk) {
      chunks.push(String(chunk));
      return true;
    },
    on() {
      return this;
    },
  });
  const proc = {
    env,
    argv: [process.execPath, DOUBLE, tool, ...args],
    pid: process.pid,
    stdout: stream(out),
    stderr: stream(err),
    exitCode: undefined,
    exit(code) {
      throw new Exit(code ?? proc.exitCode);
    },
  };
  const refuse = (why) => ({
    stdout: '',
    stderr: `yarn double server: ${why}: the server mode does not support calls that wait\n`,
    code: 2,
  });
  const requireFn = (id) => {
    if (id === './yarn-model.cjs') return nonBlockingModel;
    if (id === './yarn-logs-double.cjs') return loadLogs(requireFn, proc);
    return require(id);
  };
  try {
    const double = loadDouble(requireFn, proc);
    const why = wouldWait(double, state, tool, args, env);
    if (why) return refuse(why);
    double.main();
  } catch (e) {
    if (e instanceof WouldBlock) return refuse('this call would sleep');
    // What node does with an uncaught exception: the stack on stderr, exit 1.
    if (!(e instanceof Exit)) return { stdout: out.join(''), stderr: `${err.join('')}${e.stack}\n`, code: 1 };
    proc.exitCode = e.code;
  }
  return { stdout: out.join(''), stderr: err.join(''), code: proc.exitCode ?? 0 };
}

/** The sh program the wrapper evals: the call's output, byte for byte, and its exit code. */
function answer({ stdout, stderr, code }) {
  const lines = [];
  if (stdout) lines.push(`printf '%s' ${sq(stdout)}`);
  if (stderr) lines.push(`printf '%s' ${sq(stderr)} >&2`);
  lines.push(`exit ${code}`);
  return lines.join('\n') + '\n';
}

function serve(state, socket) {
  fs.rmSync(socket, { force: true });
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      const env = { YARN_DOUBLE_STATE: state };
      for (const name of ENV) if (form.has(name)) env[name] = form.get(name);
      const body = answer(call(state, req.url.slice(1), form.getAll('a'), env));
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(body);
    });
  });
  server.listen(socket, () => process.stdout.write('listening\n'));
  process.on('exit', () => fs.rmSync(socket, { force: true }));
  process.on('SIGTERM', () => process.exit(0));
  process.stdin.on('end', () => process.exit(0)).resume();
}

if (require.main === module) {
  const [state, socket] = process.argv.slice(2);
  if (!state || !socket) {
    process.stderr.write('usage: yarn-double-server.cjs STATE_DIR SOCKET\n');
    process.exit(2);
  }
  serve(state, socket);
} else module.exports = { wrapperScript };
