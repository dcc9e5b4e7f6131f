// Failure messages keep the cause: on the real output of spark-submit and `yarn` (test/fixtures/yarn-transcripts,
// recorded from Hadoop 3.4.1 and Spark 4.0.1), where Java prints the cause first and ~25 stack lines after it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { causeLines, failureSummary, outputEnding } from '../../src/common/output.js';

const transcript = (name: string) =>
  readFileSync(join(__dirname, '..', 'fixtures', 'yarn-transcripts', name), 'utf8');

describe('cause lines', () => {
  test('spark-submit of a missing jar: the FileNotFoundException, not the shutdown hooks', () => {
    const stderr = transcript('spark-submit-missing-jar.stderr.txt');
    assert.deepEqual(causeLines(stderr), [
      'Exception in thread "main" java.io.FileNotFoundException: File file:/tmp/demo/no-such.jar does not exist',
    ]);
    const ending = outputEnding('output ends', stderr.slice(-1_500), stderr);
    assert.match(
      ending,
      /^; cause:\nException in thread "main" java\.io\.FileNotFoundException: File file:\/tmp\/demo\/no-such\.jar does not exist; output ends:\n/,
    );
    assert.match(ending, /ShutdownHookManager: Deleting directory/, 'and the tail still follows');
  });

  test('yarn -list with the ResourceManager down: the ConnectException first, then the last lines', () => {
    const summary = failureSummary(transcript('yarn-list-rm-down-fastfail.stderr.txt'));
    assert.match(
      summary,
      /^Exception in thread "main" java\.net\.ConnectException: Call From .* to localhost:18032 failed on connection exception/,
    );
    assert.match(summary, / … .*\| .*$/, 'the last lines after the cause');
    assert.ok(summary.length <= 1_001);
  });

  test('a successful spark-submit has no cause lines (INFO and WARN are not causes)', () => {
    assert.deepEqual(causeLines(transcript('spark-submit.stderr.txt')), []);
  });

  test('Caused by, log4j ERROR lines, spark-submit "Error:", a Python traceback; first three, distinct', () => {
    const text = [
      '26/11/26 09:02:12 INFO Client: ok',
      '26/11/26 09:02:12 ERROR SparkContext: Error initializing SparkContext.',
      'org.apache.spark.SparkException: boom',
      '\tat x.y(Z.java:1)',
      'Caused by: java.lang.IllegalStateException: no executors',
      'Caused by: java.lang.IllegalStateException: no executors',
      'Error: Failed to load class com.example.Main.',
    ].join('\n');
    assert.deepEqual(causeLines(text), [
      '26/11/26 09:02:12 ERROR SparkContext: Error initializing SparkContext.',
      'org.apache.spark.SparkException: boom',
      'Caused by: java.lang.IllegalStateException: no executors',
    ]);
    assert.deepEqual(
      causeLines('Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad input'),
      ['ValueError: bad input'],
    );
  });

  test('a cause already among the last lines is not repeated; no output, no ending', () => {
    assert.equal(outputEnding('output ends', 'Error: no such file\n'), '; output ends:\nError: no such file');
    assert.equal(outputEnding('output ends', ''), '');
  });
});
