// YARN and spark-submit output parsing, on text as the real tools print it (Hadoop 3.4 / Spark 4).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  parseApplicationList,
  parseApplicationStatus,
  parseKillOutput,
  parseSparkSubmitAppId,
  YarnOutputError,
} from '../../src/yarn/parse.js';

/** Java's "%30s\t%20s\t%20s\t%10s\t%10s\t%18s\t%18s\t%15s\t%35s", as ApplicationCLI prints rows. */
function row(fields: string[]): string {
  const widths = [30, 20, 20, 10, 10, 18, 18, 15, 35];
  return fields.map((f, i) => f.padStart(widths[i]!)).join('\t');
}
const HEADER = row([
  'Application-Id',
  'Application-Name',
  'Application-Type',
  'User',
  'Queue',
  'State',
  'Final-State',
  'Progress',
  'Tracking-URL',
]);

const HADOOP3 = [
  'Total number of applications (application-types: [], states: [SUBMITTED, ACCEPTED, RUNNING] and tags: []):1',
  '                Application-Id\t    Application-Name\t    Application-Type\t      User\t     Queue\t             State\t       Final-State\t       Progress\t                       Tracking-URL',
  'application_1700000000000_0007\tInternationalRoamingApp\t               SPARK\t     spark\t   default\t           RUNNING\t         UNDEFINED\t            10%\thttp://rm-host:8088/proxy/application_1700000000000_0007/',
  '',
].join('\n');

describe('yarn application -list', () => {
  test('Hadoop 3.x, exactly as the facts file shows it', () => {
    assert.deepEqual(parseApplicationList(HADOOP3), [
      {
        id: 'application_1700000000000_0007',
        name: 'InternationalRoamingApp',
        type: 'SPARK',
        user: 'spark',
        queue: 'default',
        state: 'RUNNING',
        finalStatus: 'UNDEFINED',
        progress: '10%',
        trackingUrl: 'http://rm-host:8088/proxy/application_1700000000000_0007/',
      },
    ]);
  });

  test('Hadoop 2.x summary, names with spaces, N/A tracking URLs', () => {
    const out = [
      'Total number of applications (application-types: [] and states: [SUBMITTED, ACCEPTED, RUNNING]):2',
      HEADER,
      row([
        'application_1700000000000_0001',
        'Clickstream Enrichment',
        'SPARK',
        'spark',
        'default',
        'ACCEPTED',
        'UNDEFINED',
        '0%',
        'N/A',
      ]),
      row([
        'application_1700000000000_0002',
        'a  b',
        'MAPREDUCE',
        'etl',
        'batch',
        'RUNNING',
        'UNDEFINED',
        '53.79%',
        'http://x/',
      ]),
    ].join('\n');
    const rows = parseApplicationList(out);
    assert.deepEqual(
      rows.map((r) => [r.id, r.name, r.state, r.progress, r.trackingUrl]),
      [
        ['application_1700000000000_0001', 'Clickstream Enrichment', 'ACCEPTED', '0%', 'N/A'],
        ['application_1700000000000_0002', 'a  b', 'RUNNING', '53.79%', 'http://x/'],
      ],
    );
  });

  test('no applications', () => {
    const out =
      'Total number of applications (application-types: [], states: [SUBMITTED, ACCEPTED, RUNNING] and tags: []):0\n' +
      HEADER +
      '\n';
    assert.deepEqual(parseApplicationList(out), []);
  });

  test('log4j noise that reached stdout before the summary is ignored', () => {
    const out =
      '26/11/25 14:00:00 INFO client.DefaultNoHARMFailoverProxyProvider: Connecting to ResourceManager at rm/10.0.0.1:8032\n' +
      HADOOP3;
    assert.equal(parseApplicationList(out).length, 1);
  });

  test('output that is not a list is an error, never "no apps"', () => {
    for (const bad of [
      '',
      'The application state RUNING is invalid.\nThe valid application state can be one of the following: ALL,NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING,FINISHED,FAILED,KILLED',
      HADOOP3.replace('):1', '):2'),
      HADOOP3.replace('application_1700000000000_0007\t', 'garbage\t'),
      'Total number of applications (application-types: [], states: [RUNNING] and tags: []):1\n', // truncated
    ]) {
      assert.throws(() => parseApplicationList(bad), YarnOutputError, JSON.stringify(bad.slice(0, 40)));
    }
  });
});

describe('yarn application -status', () => {
  const report = [
    'Application Report : ',
    '\tApplication-Id : application_1700000000000_0007',
    '\tApplication-Name : InternationalRoamingApp',
    '\tApplication-Type : SPARK',
    '\tUser : spark',
    '\tQueue : default',
    '\tApplication Priority : 0',
    '\tStart-Time : 1700000123456',
    '\tFinish-Time : 1700000999999',
    '\tProgress : 100%',
    '\tState : FAILED',
    '\tFinal-State : FAILED',
    '\tTracking-URL : http://rm-host:8088/cluster/app/application_1700000000000_0007',
    '\tRPC Port : -1',
    '\tAM Host : N/A',
    '\tAggregate Resource Allocation : 123456 MB-seconds, 4567 vcore-seconds',
    '\tAggregate Resource Preempted : 0 MB-seconds, 0 vcore-seconds',
    '\tLog Aggregation Status : SUCCEEDED',
    '\tDiagnostics : Application application_1700000000000_0007 failed 2 times due to AM Container exited with exitCode: 13',
    'Failing this attempt.Diagnostics: User class threw exception: java.lang.RuntimeException: boom',
    'For more detailed output, check the application tracking page.',
    '\tUnmanaged Application : false',
    '\tApplication Node Label Expression : <Not set>',
    '\tAM container Node Label Expression : <DEFAULT_PARTITION>',
    '\tTimeoutType : LIFETIME\tExpiryTime : UNLIMITED\tRemainingTime : -1seconds',
    '',
  ].join('\n');

  test('state, final state and multi-line diagnostics', () => {
    const parsed = parseApplicationStatus(report)!;
    assert.equal(parsed.id, 'application_1700000000000_0007');
    assert.equal(parsed.name, 'InternationalRoamingApp');
    assert.equal(parsed.state, 'FAILED');
    assert.equal(parsed.finalStatus, 'FAILED');
    assert.match(parsed.diagnostics!, /exitCode: 13\nFailing this attempt.*boom\nFor more detailed output/);
  });

  test('a running app has no diagnostics', () => {
    const running = report
      .replace('State : FAILED', 'State : RUNNING')
      .replace(/\tDiagnostics : [\s\S]*?\n\tUnmanaged/, '\tDiagnostics : \n\tUnmanaged');
    const parsed = parseApplicationStatus(running)!;
    assert.equal(parsed.state, 'RUNNING');
    assert.equal(parsed.diagnostics, undefined);
  });

  test('an unknown id', () => {
    assert.equal(
      parseApplicationStatus(
        "Application with id 'application_1700000000000_0099' doesn't exist in RM or Timeline Server.",
      ),
      undefined,
    );
  });

  test('anything else is an error', () => {
    assert.throws(
      () => parseApplicationStatus('Exception in thread "main" java.net.ConnectException'),
      YarnOutputError,
    );
    assert.throws(() => parseApplicationStatus('Application Report : \n\tUser : spark\n'), YarnOutputError);
  });
});

describe('yarn application -kill', () => {
  test('the three answers', () => {
    assert.equal(parseKillOutput('Killing application application_1700000000000_0007\n'), 'killed');
    assert.equal(
      parseKillOutput('Application application_1700000000000_0007 has already finished \n'),
      'alreadyFinished',
    );
    assert.equal(
      parseKillOutput("Application with id 'application_1700000000000_0007' doesn't exist in RM.\n"),
      'notFound',
    );
    assert.throws(() => parseKillOutput('Permission denied'), YarnOutputError);
  });
});

describe('spark-submit', () => {
  test('the application id from the Submitting line, else the first id', () => {
    const log = [
      '25/11/25 14:00:01 INFO Client: Requesting a new application from cluster with 3 NodeManagers',
      '25/11/25 14:00:02 INFO Client: Submitting application application_1700000000000_0042 to ResourceManager',
      '25/11/25 14:00:02 INFO YarnClientImpl: Submitted application application_1700000000000_0042',
      '25/11/25 14:00:03 INFO Client: Application report for application_1700000000000_0042 (state: ACCEPTED)',
    ].join('\n');
    assert.equal(parseSparkSubmitAppId(log), 'application_1700000000000_0042');
    assert.equal(
      parseSparkSubmitAppId('INFO YarnClientImpl: Submitted application application_1_0003'),
      'application_1_0003',
    );
    assert.equal(parseSparkSubmitAppId('Error: Missing application resource.'), undefined);
  });
});
