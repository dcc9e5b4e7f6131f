// config/monitoring/ checked with the real promtool (scripts/ensure-promtool.sh) against a real `kappa worker`
// process: two sshd edge nodes with the yarn double, a real Temporal dev server. The worker's /metrics is scraped
// every 2 s while apps live through what the alerts are about (a crash that Kappa repairs, a crash with no
// budget left, an app stuck ACCEPTED, an extra instance, an edge node gone, a stop); `promtool test rules` then
// evaluates the alerting rules and every dashboard expression on those scrapes, continued as they ended
// (test/support/prom-series.ts). Also: poll durations land in seconds buckets, and kappa_app_up comes back after
// a worker restart.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@temporalio/client';
import { parse, stringify } from 'yaml';
import { deployApp } from '../../src/cli/commands/deploy.js';
import { Metric, POLL_SECONDS_BUCKETS } from '../../src/common/metric-names.js';
import { TASK_QUEUE, workflowId } from '../../src/common/temporal-names.js';
import { freePort, type DevServer } from '../../src/temporal/dev-server.js';
import { connectClient, startServer, tempDir, waitFor, waitForStatus } from '../support/harness.js';
import { stopSignal } from '../../src/workflows/definitions.js';
import { dashboardRules, expectedAlerts, type AlertRule } from '../support/monitoring-rules.js';
import { familyOf, inputSeries, parseExposition, promtool, type Scrape } from '../support/prom-series.js';
import { Sshd } from '../support/sshd.js';
import { YarnDouble } from '../support/yarn-double.js';
import * as yarnModel from '../support/yarn-model.cjs';

const ROOT = join(__dirname, '..', '..');
const ALERTS = join(ROOT, 'config', 'monitoring', 'kappa-alerts.yaml');
const DASHBOARD = join(ROOT, 'config', 'monitoring', 'kappa-dashboard.json');
const STEP_MS = 2_000;

const edge1 = new Sshd();
const edge2 = new Sshd();
const dir = tempDir('monitoring');
let server: DevServer;
let client: Client;
let closeClient: () => Promise<void>;
let double: YarnDouble;
let configFile: string;
let port: number;
let worker: ChildProcess | undefined;
/** The recording: every scrape of the scenario. */
const scrapes: Scrape[] = [];

before(async () => {
  await Promise.all([edge1.start(), edge2.start()]);
  server = await startServer();
  ({ client, close: closeClient } = await connectClient(server));
  double = new YarnDouble(tempDir('monitoring-double'));
  port = await freePort();
  configFile = join(dir, 'worker.yaml');
  writeFileSync(
    configFile,
    stringify({
      temporal: { address: server.address },
      hosts: { 'edge-1': await edge1.hostConfig(double.yarn), 'edge-2': await edge2.hostConfig(double.yarn) },
      metrics: { port, bindAddress: '127.0.0.1' },
    }),
  );
});

after(async () => {
  await stopWorker();
  await closeClient?.();
  await server?.stop();
  await Promise.all([edge1.stop(), edge2.stop()]);
});

async function startWorker(): Promise<void> {
  const child = spawn(join(ROOT, 'bin', 'kappa'), ['--worker-config', configFile, 'worker'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, KAPPA_LOG_LEVEL: 'warn' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  worker = child;
  await waitFor('the worker serving metrics', () => stderr.includes(`/metrics`), 90_000);
}

async function stopWorker(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = worker;
  worker = undefined;
  if (!child || child.exitCode !== null) return;
  child.kill(signal);
  await new Promise((r) => child.once('exit', r));
}

async function scrape(): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function streaming(name: string, host: 'edge-1' | 'edge-2' = 'edge-1', maxRestarts = 3) {
  return double.streamingApp(name, `Mon ${name}`, { pollInterval: '1s', maxRestarts, host });
}

const running = (app: string, notId?: string | null) =>
  waitForStatus(client, app, `${app} Running`, (s) => s.phase === 'Running' && s.yarnAppId !== notId, 60_000);

describe('monitoring: config/monitoring/ on a real worker with promtool', () => {
  test('promtool check rules: the alerting rules and every dashboard expression parse', async () => {
    const alerts = await promtool('check', 'rules', ALERTS);
    assert.equal(alerts.code, 0, alerts.output);
    assert.match(alerts.output, /SUCCESS: 5 rules found/);
    const file = join(dir, 'dashboard-rules.yaml');
    const panels = dashboardRules(DASHBOARD);
    writeFileSync(file, stringify(panels.file));
    const checked = await promtool('check', 'rules', file);
    assert.equal(checked.code, 0, checked.output);
    assert.match(checked.output, new RegExp(`SUCCESS: ${panels.count} rules found`));
  });

  test('a recorded life of apps: each alert fires where it should and nowhere else (promtool test rules)', async () => {
    await startWorker();
    const apps = ['steady', 'crashy', 'doomed', 'twin', 'stopped'];
    await Promise.all([
      ...apps.map((app) =>
        deployApp(client, TASK_QUEUE, streaming(app, 'edge-1', { crashy: 1, doomed: 0 }[app] ?? 3)),
      ),
      deployApp(client, TASK_QUEUE, streaming('remote', 'edge-2')),
    ]);
    const first = Object.fromEntries(
      await Promise.all(
        [...apps, 'remote'].map(async (app) => [app, (await running(app)).yarnAppId] as const),
      ),
    );
    const timer = setInterval(() => {
      const at = Date.now();
      void scrape().then((text) => scrapes.push({ at, text }));
    }, STEP_MS);
    try {
      await waitFor('the first scrapes', () => scrapes.length >= 3, 20_000);
      double.killFromOutside(first.crashy!); // repaired: one restart, the budget of 1 used
      double.killFromOutside(first.doomed!); // no budget: Failed, down for good
      double.addRunning('Mon twin'); // an extra instance: killed
      await running('crashy', first.crashy);
      yarnModel.setQueueFull(double.stateDir, true); // from now on nothing gets past ACCEPTED
      await deployApp(client, TASK_QUEUE, streaming('queued'));
      await waitForStatus(client, 'queued', 'queued ACCEPTED', (s) => s.acceptedSince !== null, 60_000);
      await edge2.stop(); // remote's edge node is gone: Degraded
      await client.workflow
        .getHandle(workflowId('stopped'))
        .signal(stopSignal, { reason: 'monitoring test' });
      await waitForStatus(client, 'doomed', 'doomed Failed', (s) => s.phase === 'Failed', 60_000);
      await waitForStatus(client, 'remote', 'remote Degraded', (s) => s.phase === 'Degraded', 60_000);
      await waitForStatus(client, 'stopped', 'stopped Stopped', (s) => s.phase === 'Stopped', 60_000);
      await waitForStatus(client, 'twin', 'twin extra killed', (s) =>
        s.attempts.some((a) => (a.extraInstances ?? []).length > 0),
      );
      // Past the 5 s in which an ended supervision keeps its gauges, and 5 steady scrapes for the counters' rates.
      const settled = scrapes.length;
      await waitFor('steady scrapes', () => scrapes.length >= settled + 6, 30_000);
    } finally {
      clearInterval(timer);
    }
    const end = scrapes.length * (STEP_MS / 1000);
    const evalAt = { soon: end + 60, later: end + 12 * 60, muchLater: end + 20 * 60 };
    const rules = (parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: AlertRule[] }[] }).groups[0]!
      .rules;
    const down = [{ app: 'doomed' }, { app: 'queued' }];
    const budget = [{ app: 'crashy' }];
    const degraded = [{ app: 'remote', host: 'edge-2' }];
    const polls = [{ host: 'edge-2' }];
    const extra = [{ app: 'twin', action: 'killed' }];
    const firing: Record<keyof typeof evalAt, Record<string, Record<string, string>[]>> = {
      soon: { KappaRestartBudgetNearlyUsed: budget, KappaExtraInstanceKilled: extra },
      later: {
        KappaAppDown: down,
        KappaRestartBudgetNearlyUsed: budget,
        KappaAppDegraded: degraded,
        KappaPollsFailing: polls,
        KappaExtraInstanceKilled: extra,
      },
      muchLater: {
        KappaAppDown: down,
        KappaRestartBudgetNearlyUsed: budget,
        KappaAppDegraded: degraded,
        KappaPollsFailing: polls,
      },
    };
    const panels = dashboardRules(DASHBOARD);
    writeFileSync(join(dir, 'dashboard-rules.yaml'), stringify(panels.file));
    const testFile = join(dir, 'kappa-alerts.test.yaml');
    writeFileSync(
      testFile,
      stringify({
        rule_files: [ALERTS, join(dir, 'dashboard-rules.yaml')],
        evaluation_interval: '30s',
        tests: [
          {
            interval: `${STEP_MS / 1000}s`,
            input_series: inputSeries(scrapes, {
              continueSteps: Math.ceil((25 * 60) / (STEP_MS / 1000)),
              keep: (family) => family.startsWith('kappa_'),
            }),
            alert_rule_test: [
              ...Object.entries(evalAt).flatMap(([when, at]) =>
                rules.map((rule) => ({
                  eval_time: `${Math.round(at)}s`,
                  alertname: rule.alert,
                  exp_alerts: expectedAlerts(rule, firing[when as keyof typeof evalAt][rule.alert] ?? []),
                })),
              ),
              // Every dashboard expression has data on the recording, ten minutes on.
              {
                eval_time: `${Math.round(evalAt.later)}s`,
                alertname: panels.alertname,
                exp_alerts: panels.expected,
              },
            ],
          },
        ],
      }),
    );
    const result = await promtool('test', 'rules', testFile);
    assert.equal(result.code, 0, `${result.output}\n(test file: ${testFile})`);
    assert.match(result.output, /SUCCESS/);
  });

  test('poll durations are in seconds buckets, not the SDK default milliseconds', () => {
    const { samples } = parseExposition(scrapes.at(-1)!.text);
    const buckets = samples.filter(
      (s) =>
        s.name === `${Metric.pollSeconds}_bucket` && s.labels.host === 'edge-1' && s.labels.outcome === 'ok',
    );
    assert.deepEqual(
      buckets.map((b) => b.labels.le),
      [...POLL_SECONDS_BUCKETS.map(String), '+Inf'],
    );
    const count = (le: string) => buckets.find((b) => b.labels.le === le)!.value;
    assert.ok(count('+Inf') >= 10, 'polled through the scenario');
    assert.ok(
      count('0.05') < count('+Inf'),
      'a yarn call over SSH takes more than 50 ms: not all in the first bucket',
    );
    assert.equal(count('60'), count('+Inf'), 'and none takes a minute');
  });

  test('every metric the dashboard and the alerts use is one Kappa exports, and the real worker serves it', () => {
    const exported = new Set<string>(Object.values(Metric));
    const { types, samples } = parseExposition(scrapes.at(-1)!.text);
    const served = new Set(samples.map((s) => familyOf(s.name, types)));
    const used = new Set<string>();
    const exprs = [readFileSync(ALERTS, 'utf8'), ...dashboardRules(DASHBOARD).exprs];
    for (const text of exprs)
      for (const [name] of text.matchAll(/\bkappa_[a-z_]+\b/g)) used.add(familyOf(name, types));
    assert.ok(used.size >= 9, [...used].join(', '));
    for (const name of used) {
      assert.ok(exported.has(name), `${name} is not in src/common/metric-names.ts`);
      assert.ok(served.has(name), `${name} is not on the real worker's /metrics`);
    }
  });

  test('kappa_app_up is back after a worker restart, for an app that stayed Running', async () => {
    const before = await scrape();
    assert.match(before, /kappa_app_up\{[^}]*app="steady"[^}]*\} 1/);
    await stopWorker('SIGKILL');
    await startWorker();
    // The supervision is retried on the new worker once its heartbeat times out (15 s), and polls again.
    await waitFor(
      'kappa_app_up{app="steady"} 1 on the new worker',
      async () => /kappa_app_up\{[^}]*app="steady"[^}]*\} 1/.test(await scrape()),
      90_000,
    );
    assert.equal((await running('steady')).yarnAppId !== null, true);
  });
});
