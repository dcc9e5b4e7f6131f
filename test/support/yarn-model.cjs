/*
 * The one model of a YARN ResourceManager's applications that the tests use. Both stand-ins keep their apps
 * here: fake-cluster.ts (the workflow tests' YarnGateway, in-process and across processes) and yarn-double.cjs
 * (the `yarn application` / `spark-submit` double run by plain `node` on the test edge node, driven from the
 * test side by yarn-double.ts). Plain CommonJS so that `node` loads it without tsx; types in yarn-model.d.cts.
 *
 * Each fact about YARN is written here once:
 * - ids are `application_<clusterTimestamp>_<seq>`, seq counting from 1, zero-padded to at least 4 digits;
 * - the application states in YARN's enum order; the live ones are SUBMITTED, ACCEPTED, RUNNING;
 * - a submitted app is ACCEPTED and becomes RUNNING RUNNING_AFTER_MS later (its AM registered), unless the queue
 *   is full (`setQueueFull`): then it stays ACCEPTED until there is room;
 * - kill: a live app ends KILLED/KILLED; killing an app that already ended changes nothing ('finished'); an id
 *   YARN never issued is 'unknown';
 * - an app may end on its own or be killed by someone else at any time (`end`);
 * - the state is <dir>/apps.json, replaced atomically, changed only while holding the <dir>/lock directory
 *   (mkdir is atomic), so the test, a worker in another process and the CLI double never write over each other.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const CLUSTER_TIMESTAMP = 1700000000000;
const STATES = ['NEW', 'NEW_SAVING', 'SUBMITTED', 'ACCEPTED', 'RUNNING', 'FINISHED', 'FAILED', 'KILLED'];
const LIVE_STATES = ['SUBMITTED', 'ACCEPTED', 'RUNNING'];
const RUNNING_AFTER_MS = 300;
/** While this file exists in the state dir the queue has no room: ACCEPTED apps stay ACCEPTED. */
const QUEUE_FULL = 'queue-full';

/** A full queue (no app gets past ACCEPTED) or room again. */
function setQueueFull(dir, full) {
  const file = path.join(dir, QUEUE_FULL);
  if (!full) return fs.rmSync(file, { force: true });
  // RUNNING is worked out on reading: write down the apps that got there first, so they stay RUNNING.
  update(dir, () => undefined);
  fs.writeFileSync(file, '');
}
/**
 * How a kill ends an app. Hadoop 3.4's diagnostics read `Application <id> was killed by user <u> at <ip>`; the
 * shorter text is what the tests assert (test/integration/ssh.test.ts).
 */
const KILLED_BY_USER = { state: 'KILLED', finalStatus: 'KILLED', diagnostics: 'Application killed by user.' };

function isLive(state) {
  return LIVE_STATES.includes(state);
}

function applicationId(clusterTimestamp, seq) {
  return `application_${clusterTimestamp}_${String(seq).padStart(4, '0')}`;
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs fn holding <dir>/lock, a lock between processes sharing the directory. */
function withDirLock(dir, what, fn) {
  const lock = path.join(dir, 'lock');
  for (let i = 0; ; i++) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch {
      if (i > 20000) throw new Error(`${what}: lock ${lock} held too long`);
      sleepSync(1);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function stateFile(dir) {
  return path.join(dir, 'apps.json');
}

/** The state as YARN would report it at `now`: ACCEPTED apps old enough are RUNNING. */
function read(dir, now) {
  const file = stateFile(dir);
  const state = fs.existsSync(file)
    ? JSON.parse(fs.readFileSync(file, 'utf8'))
    : { clusterTimestamp: CLUSTER_TIMESTAMP, nextSeq: 1, apps: [] };
  const queueFull = fs.existsSync(path.join(dir, QUEUE_FULL));
  for (const app of state.apps) {
    if (app.state === 'ACCEPTED' && !queueFull && now - app.startTime >= RUNNING_AFTER_MS) {
      app.state = 'RUNNING';
      app.progress = 0.1;
    }
  }
  return state;
}

/** Every app YARN knows, as it would report them now (a consistent snapshot; no lock needed to read). */
function apps(dir) {
  return read(dir, Date.now()).apps;
}

/** Read-modify-write under the lock; returns what `change` returns. */
function update(dir, change) {
  return withDirLock(dir, 'yarn model', () => {
    const now = Date.now();
    const state = read(dir, now);
    const result = change(state, now);
    const tmp = `${stateFile(dir)}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, stateFile(dir));
    return result;
  });
}

/** A new app with the next id; ACCEPTED unless `state` says otherwise (an app already RUNNING, say). */
function submit(dir, { name, state = 'ACCEPTED', user = 'spark', tags = '' }) {
  return update(dir, (s, now) => {
    const app = {
      id: applicationId(s.clusterTimestamp, s.nextSeq++),
      name,
      type: 'SPARK',
      user,
      queue: 'root.default',
      state,
      finalStatus: 'UNDEFINED',
      progress: state === 'RUNNING' ? 0.1 : 0,
      startTime: now,
      finishTime: 0,
      diagnostics: '',
      tags: tags.toLowerCase(), // YARN lowercases application tags
    };
    s.apps.push(app);
    return app;
  });
}

function ended(app, how, now) {
  Object.assign(app, how, { progress: 1, finishTime: now });
}

/** `yarn application -kill`: 'killed' (was live), 'finished' (had already ended: unchanged) or 'unknown'. */
function kill(dir, id) {
  return update(dir, (s, now) => {
    const app = s.apps.find((a) => a.id === id);
    if (!app) return 'unknown';
    if (!isLive(app.state)) return 'finished';
    ended(app, KILLED_BY_USER, now);
    return 'killed';
  });
}

/** The app ends on its own, crashes or is killed by someone else: { state, finalStatus, diagnostics }. */
function end(dir, id, how) {
  update(dir, (s, now) => {
    const app = s.apps.find((a) => a.id === id);
    if (!app) throw new Error(`no app ${id}`);
    ended(app, how, now);
  });
}

module.exports = {
  STATES,
  LIVE_STATES,
  KILLED_BY_USER,
  isLive,
  sleepSync,
  apps,
  submit,
  kill,
  end,
  setQueueFull,
};
