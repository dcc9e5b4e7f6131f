// The operator's view (issue #13 items 1 and 2): a `kappa worker` process over a real sshd edge node (the yarn double
// on it) and a real Temporal dev server. The Temporal UI's data is read back as the UI reads it: the workflow's
// static summary and details from `describe`, its current details from the `__temporal_workflow_metadata` query,
// each activity's summary from the history. `kappa status` and `kappa list` say what is happening now; the
// worker's JSON log carries every failure's message, and a refused host key once, loudly.
import assert from 'node:assert/strict';
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { stringify } from 'yaml';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../../src/common/temporal-names.js';
import { freePort, type DevServer } from '../../src/temporal/dev-server.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import {
  appHandle,
  connectClient,
  startServer,
  tempDir,
  waitFor,
  waitForStatus,
} from '../support/harness.js';
import { Sshd } from '../support/sshd.js';
import { YarnDouble } from '../support/yarn-double.js';
import { spawnOwned } from '../support/owned-spawn.js';

const run = promisify(execFile);
const KAPPA = join(__dirname, '..', '..', 'bin', 'kappa');

const sshd = new Sshd();
let server: DevServer;
let double: YarnDouble;
let client: Client;
let closeClient: () => Promise<void>;
let configFile: string;
let worker: ChildProcess;
let workerLog = '';
let wrongKnownHosts: string;

before(async () => {
  [server] = await Promise.all([startServer(), sshd.start()]);
  double = new YarnDouble(tempDir('operator-double'));
  const dir = tempDir('operator-config');
  // A known_hosts that names this sshd with another key: what a changed host key looks like.
  const otherKey = join(dir, 'other_host_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
  wrongKnownHosts = join(dir, 'known_hosts_wrong');
  const otherPub = execFileSync('cat', [`${otherKey}.pub`], { encoding: 'utf8' })
    .split(' ')
    .slice(0, 2)
    .join(' ');
  writeFileSync(wrongKnownHosts, `[127.0.0.1]:${await sshd.port} ${otherPub}\n`);
  const good = await sshd.hostConfig(double.yarn);
  configFile = join(dir, 'worker.yaml');
  writeFileSync(
    configFile,
    stringify({
      temporal: { address: server.address },
      hosts: {
        'edge-1': { ...good, yarnWebUrl: 'http://rm-host:8088' },
        // Nothing listens there: every connection is refused.
        'edge-closed': { ...good, port: await freePort() },
        'edge-rekeyed': { ...good, knownHostsPath: wrongKnownHosts },
      },
      metrics: { port: 0 },
    }),
  );
  ({ client, close: closeClient } = await connectClient(server));
  worker = spawnOwned(KAPPA, ['--worker-config', configFile, 'worker'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
  worker.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
  await waitFor('the kappa worker up', () => workerLog.includes('kappa worker: task queue'), 60_000);
});

after(async () => {
  worker?.kill('SIGKILL');
  await closeClient?.();
  await server?.stop();
  await sshd.stop();
});

async function kappa(...args: string[]): Promise<string> {
  const { stdout } = await run(KAPPA, ['--worker-config', configFile, ...args], {
    env: { ...process.env, CI: 'true' },
  });
  return stdout;
}

/** The worker's JSON log lines. */
function logLines(): Record<string, unknown>[] {
  return workerLog
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function stop(app: string): Promise<void> {
  await appHandle(client, app).signal(stopSignal, { leaveRunning: true });
}

describe('the Temporal UI shows the app', () => {
  test('static summary and details, current details with the YARN link, a summary on every activity', async () => {
    const config = double.streamingApp('ui-app', 'Edge ui-app');
    await deployApp(client, TASK_QUEUE, config);
    const running = await waitForStatus(client, 'ui-app', 'Running', (s) => s.phase === 'Running', 60_000);
    const handle = appHandle(client, 'ui-app');

    const description = await handle.describe();
    assert.equal(await description.staticSummary(), 'StreamingApp "Edge ui-app" on edge-1');
    const details = (await description.staticDetails()) ?? '';
    assert.match(details, /^\*\*ui-app\*\* — StreamingApp$/m);
    assert.match(details, /steps: `submit` \(ssh edge-1: .*spark-submit --master yarn …\)/);

    // What the UI's "Current Details" shows: read with the query the UI sends.
    const metadata = await handle.query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    const id = running.yarnAppId!;
    assert.match(
      metadata.currentDetails ?? '',
      new RegExp(
        `^\\*\\*Running\\*\\* · YARN application \\[${id}\\]\\(http://rm-host:8088/cluster/app/${id}\\) · restarts 0/3 · revision 1$`,
      ),
    );

    const summaries = new Map<string, string[]>();
    for (const event of (await handle.fetchHistory()).events ?? []) {
      // An activity, or a local activity (its marker: the existence check runs as one first).
      const marker = event.markerRecordedEventAttributes;
      const local =
        marker?.markerName === 'core_local_activity'
          ? defaultPayloadConverter.fromPayload<{ activity_type: string }>(
              marker.details!.data!.payloads![0]!,
            )
          : undefined;
      const type = event.activityTaskScheduledEventAttributes?.activityType?.name ?? local?.activity_type;
      if (!type) continue;
      const payload = event.userMetadata?.summary;
      const summary = payload ? defaultPayloadConverter.fromPayload<string>(payload) : '(none)';
      summaries.set(type, [...(summaries.get(type) ?? []), summary]);
    }
    assert.deepEqual(summaries.get('findLiveApps'), ['find live "Edge ui-app" before submitting on edge-1']);
    assert.match(
      summaries.get('runStep')?.[0] ?? '',
      /^step "submit" \(attempt 1\): ssh edge-1: .*spark-submit/,
    );
    // One supervision while YARN shows the app ACCEPTED, the next once it is RUNNING: the same summary.
    const supervisions = summaries.get('superviseApp') ?? [];
    assert.ok(supervisions.length >= 1);
    assert.ok(
      supervisions.every((s) => s === `supervise ${id} on edge-1, polled every 500ms`),
      supervisions.join(),
    );
    await stop('ui-app');
  });

  test('BackingOff: status, list and the current details say which restart and when', async () => {
    const config = double.streamingApp('backoff-app', 'Edge backoff-app');
    config.spec.restartPolicy.backoff.initial = '1m';
    config.spec.restartPolicy.backoff.max = '1m';
    await deployApp(client, TASK_QUEUE, config);
    const running = await waitForStatus(
      client,
      'backoff-app',
      'Running',
      (s) => s.phase === 'Running',
      60_000,
    );
    double.killFromOutside(running.yarnAppId!);
    await waitForStatus(client, 'backoff-app', 'BackingOff', (s) => s.phase === 'BackingOff', 30_000);
    const status = JSON.parse(await kappa('status', 'backoff-app', '--json')) as {
      now: string;
      nextRestartAt: string;
    };
    assert.match(
      status.now,
      new RegExp(
        `^restart 1 in [0-9]+s \\(at ${status.nextRestartAt}\\) after: YARN application ${running.yarnAppId} ended [A-Z]+/[A-Z]+`,
      ),
    );
    assert.match(await kappa('list'), /backoff-app .* BackingOff .* restart 1 in [0-9]+s/);
    const metadata = await appHandle(client, 'backoff-app').query<{ currentDetails?: string }>(
      '__temporal_workflow_metadata',
    );
    assert.match(
      metadata.currentDetails ?? '',
      new RegExp(`next restart \\(1 of 3\\) at ${status.nextRestartAt}`),
    );
    await stop('backoff-app');
  });
});

/** Deploys `app` on `host` (which fails every try) and waits until `kappa status --json` shows try `attempts`. */
async function retriedOn(app: string, host: string, attempts: number) {
  await deployApp(client, TASK_QUEUE, double.streamingApp(app, `Edge ${app}`, { host }));
  return waitFor(
    `${app}: try ${attempts} of the check`,
    async () => {
      const s = JSON.parse(await kappa('status', app, '--json')) as {
        now: string;
        activities: { activity: string; attempt: number; lastFailure: string | null }[];
      };
      return (s.activities[0]?.attempt ?? 0) >= attempts ? s : undefined;
    },
    90_000,
  );
}

describe('status says what is happening now; the log says why', () => {
  test('an edge node that refuses connections: status shows the retried check, its attempt and the error', async () => {
    const status = await retriedOn('closed-app', 'edge-closed', 2);
    assert.match(
      status.now,
      /^retrying findLiveApps \(attempt [0-9]+; next try in [0-9]+s\): edge-closed: .*ECONNREFUSED/,
    );
    assert.match(await kappa('status', 'closed-app'), /^now: +retrying findLiveApps .*ECONNREFUSED/m);
    // The worker's log has the failure's message, not just its class name.
    const failed = logLines().find(
      (l) => (l.error as { message?: string } | undefined)?.message?.includes('edge-closed') === true,
    );
    assert.ok(failed, 'a log line carries the error message');
    await appHandle(client, 'closed-app').terminate('test over');
  });

  test('a changed host key: one loud ERROR naming host, fingerprint and file; status says the key was refused', async () => {
    const status = await retriedOn('rekeyed-app', 'edge-rekeyed', 3);
    assert.match(status.now, /^retrying findLiveApps .*HOST KEY CHANGED for \[127\.0\.0\.1\]:[0-9]+: /);
    const refusals = logLines().filter((l) => l.event === 'hostKeyRefused');
    assert.equal(refusals.length, 1, 'told once, not on every retry');
    const [refused] = refusals;
    assert.equal(refused?.level, 50, 'at ERROR');
    assert.equal(refused?.file, wrongKnownHosts);
    assert.equal(refused?.host, `127.0.0.1:${await sshd.port}`);
    assert.match(String(refused?.fingerprint), /^SHA256:[A-Za-z0-9+/]{43}$/);
    await appHandle(client, 'rekeyed-app').terminate('test over');
  });
});
