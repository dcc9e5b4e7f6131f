// `yarn logs` as Kappa reads it (src/cli/yarn-logs.ts): the real Hadoop 3.4.1 answers of a cluster without log
// aggregation (test/fixtures/yarn-transcripts/yarn-logs-*) turned into messages that say so; the yarn double
// printing those same lines; the output bounded; and what a followed log gained between two reads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { gained, judgeYarnLogs, lastBytes, logSections } from '../../src/cli/yarn-logs.js';
import * as model from '../support/yarn-model.cjs';

const TRANSCRIPTS = join(__dirname, '..', 'fixtures', 'yarn-transcripts');
const DOUBLE = join(__dirname, '..', 'support', 'yarn-double.cjs');
const real = (name: string) => readFileSync(join(TRANSCRIPTS, `yarn-logs-${name}.stderr.txt`), 'utf8');

/** The double's `yarn logs` for an app of its model: { stdout, stderr, code }. */
function doubleLogs(state: string, appId: string, ...more: string[]) {
  try {
    const stdout = execFileSync('node', [DOUBLE, 'yarn', 'logs', '-applicationId', appId, ...more], {
      env: { ...process.env, YARN_DOUBLE_STATE: state, USER: 'root' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { stdout, stderr: '', code: 0 };
  } catch (err) {
    const e = err as { stdout: string; stderr: string; status: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.status };
  }
}

/** A transcript's lines with what differs between runs made neutral: times, ids, the RM's address. */
function shape(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .map((l) =>
      l
        .replace(/^\d{4}-\d\d-\d\d [\d:,]+ /, 'TIME ')
        .replace(/at \S*127\.0\.0\.1:\d+$/, 'at RM')
        .replace(/application_\d+_\d+/g, 'APP')
        .replace(/container_e\d+_\d+_\d+_\d+_\d+/g, 'CONTAINER')
        .replace(/\/\d{4}\/APP/, '/SEQ/APP'),
    );
}

describe('yarn logs', () => {
  test("YARN's real answers without log aggregation become messages that say why there are no logs", () => {
    const judge = (name: string) => () =>
      judgeYarnLogs({ code: 255, stdout: '', stderr: real(name) }, 'edge-1', 'application_1_0001', 1000);
    assert.throws(
      judge('unknown'),
      /YARN on edge-1 does not know application_1_0001: Could not locate application logs for/,
    );
    for (const name of ['running-no-aggregation', 'finished-no-aggregation']) {
      assert.throws(
        judge(name),
        /YARN has no logs of application_1_0001: log aggregation is off on the cluster \(yarn\.log-aggregation-enable\), or has not finished yet .* YARN said: Can not find the logs for the application: application_\d+_\d+ with the appOwner: root/,
      );
    }
    assert.throws(
      () =>
        judgeYarnLogs(
          {
            code: 1,
            stdout: '',
            stderr: 'Exception in thread "main" java.net.ConnectException: refused\n\tat x',
          },
          'edge-1',
          'a',
          10,
        ),
      /yarn logs on edge-1 exited with 1: Exception in thread "main" java\.net\.ConnectException: refused/,
    );
  });

  test('the yarn double prints those answers line for line, and logs once aggregation is on', () => {
    const state = mkdtempSync(join(tmpdir(), 'kappa-yarn-logs-'));
    try {
      const unknown = doubleLogs(state, 'application_1700000000000_9999');
      assert.equal(unknown.code, 255);
      assert.deepEqual(shape(unknown.stderr), shape(real('unknown')));
      const app = model.submit(state, { name: 'Recorded', user: 'root' });
      model.apps(state); // ACCEPTED -> RUNNING after 300 ms
      execFileSync('sleep', ['0.4']);
      assert.deepEqual(shape(doubleLogs(state, app.id).stderr), shape(real('running-no-aggregation')));
      model.end(state, app.id, { state: 'FINISHED', finalStatus: 'SUCCEEDED', diagnostics: '' });
      const finished = doubleLogs(state, app.id);
      assert.equal(finished.code, 255);
      assert.deepEqual(shape(finished.stderr), shape(real('finished-no-aggregation')));
      writeFileSync(join(state, 'log-aggregation'), '');
      const logs = doubleLogs(state, app.id, '-size', '-100');
      assert.equal(logs.code, 0);
      assert.equal(judgeYarnLogs(logs, 'edge-1', app.id, 1 << 20), logs.stdout);
      assert.match(logs.stdout, /^LogAggregationType: AGGREGATED$/m);
      assert.deepEqual(
        [...logSections(logs.stdout).keys()].map((k) => k.replace(/_\d+_\d+_01/, '')),
        [
          'container_e01_000001 stderr',
          'container_e01_000001 stdout',
          'container_e01_000002 stderr',
          'container_e01_000002 stdout',
        ],
      );
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });

  test('bounded: the last bytes from a line start, saying how much was left out', () => {
    assert.equal(lastBytes('short\n', 100), 'short\n');
    assert.equal(
      lastBytes('one\ntwo\nthree\n', 9),
      '[kappa: 8 earlier bytes not shown; --limit-bytes 9]\nthree\n',
    );
  });

  test('followed: what each file gained, once, under its container and file', () => {
    const file = (lines: string[]) =>
      `Container: c1 on n_1\nLogAggregationType: LOCAL\n====\nLogType:stderr\nLogLastModifiedTime:x\nLogLength:1\nLogContents:\n${lines.join('\n')}\n\nEnd of LogType:stderr\n***\n\n`;
    const before = logSections(file(['a', 'b']));
    const after = logSections(file(['a', 'b', 'c', 'd']));
    assert.equal(gained(before, after), '==> c1 stderr <==\nc\nd\n');
    assert.equal(gained(after, after), '');
    // A window bounded by -size moved: the new lines after the last seen ones.
    assert.equal(gained(after, logSections(file(['c', 'd', 'e']))), '==> c1 stderr <==\ne\n');
    const seen = logSections(file(['line c', 'd']));
    const cut = gained(seen, logSections(file(['ne c', 'd', 'e'])));
    assert.equal(cut, '==> c1 stderr <==\ne\n', 'the window starts mid-line');
    assert.equal(
      gained(seen, logSections(file(['x', 'y']))),
      '==> c1 stderr <==\nx\ny\n',
      'rolled: all of it',
    );
  });
});
