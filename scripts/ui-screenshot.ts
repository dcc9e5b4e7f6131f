// Makes docs/images/temporal-ui-*.png, the README's pictures of the Temporal UI: a dev server with its UI on
// loopback, a worker on the fake cluster (test/support/fake-cluster.ts), two apps (one Running, one BackingOff
// after its YARN app died), then headless Chromium (Debian's `chromium`, driven by puppeteer-core) screenshots the workflow list and one
// workflow's page. Run: `npx tsx scripts/ui-screenshot.ts` (needs `apt-get install chromium`).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { deployApp } from '../src/cli/commands/deploy.js';
import { TASK_QUEUE } from '../src/common/temporal-names.js';
import { freePort, startDevServer } from '../src/temporal/dev-server.js';
import { FakeCluster } from '../test/support/fake-cluster.js';
import { connectClient, startWorker, tempDir, testApp, waitForStatus } from '../test/support/harness.js';

const OUT = join(__dirname, '..', 'docs', 'images');

async function main(): Promise<void> {
  const uiPort = await freePort();
  const server = await startDevServer({
    port: await freePort(),
    uiPort,
    logFile: join(tempDir('ui-server'), 'temporal.log'),
  });
  const cluster = new FakeCluster(tempDir('ui-cluster'));
  const worker = await startWorker(server, cluster.deps());
  const { client, close } = await connectClient(server);
  try {
    const fraud = testApp('fraud-scoring', { appName: 'FraudScoring', yarn: { pollInterval: '10s' } });
    const roaming = testApp('international-roaming', {
      appName: 'InternationalRoaming',
      restartPolicy: { maxRestarts: 5, backoff: { initial: '10m', factor: 2, max: '30m' } },
    });
    await deployApp(client, TASK_QUEUE, fraud);
    await deployApp(client, TASK_QUEUE, roaming);
    await waitForStatus(client, 'fraud-scoring', 'Running', (s) => s.phase === 'Running', 30_000);
    const running = await waitForStatus(
      client,
      'international-roaming',
      'Running',
      (s) => s.phase === 'Running',
    );
    cluster.killFromOutside(
      running.yarnAppId!,
      'FAILED',
      'FAILED',
      'User class threw exception: Kafka topic not found',
    );
    await waitForStatus(client, 'international-roaming', 'BackingOff', (s) => s.phase === 'BackingOff');
    mkdirSync(OUT, { recursive: true });
    const base = `http://127.0.0.1:${uiPort}/namespaces/default/workflows`;
    await shoot(base, join(OUT, 'temporal-ui-list.png'), 'kappa/international-roaming', 600);
    const { runId } = await client.workflow.getHandle('kappa/international-roaming').describe();
    await shoot(
      `${base}/${encodeURIComponent('kappa/international-roaming')}/${runId}/history`,
      join(OUT, 'temporal-ui-app.png'),
      'supervise application',
      1300,
      { name: 'User Metadata', file: join(OUT, 'temporal-ui-metadata.png'), text: 'BackingOff' },
    );
    console.log(`wrote ${OUT}/temporal-ui-{list,app,metadata}.png`);
  } finally {
    await close();
    await worker.stop();
    await server.stop();
  }
}

/** Opens `url` in headless Chromium, waits until the page shows `text`, then saves a screenshot of it. */
async function shoot(
  url: string,
  file: string,
  text: string,
  height: number,
  tab?: { name: string; file: string; text: string },
): Promise<void> {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu'],
    defaultViewport: { width: 1500, height },
  });
  try {
    const page = await browser.newPage();
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    await waitForText(page, text, url);
    await new Promise((r) => setTimeout(r, 1_500)); // let the last requests draw
    await page.screenshot({ path: file });
    if (tab) {
      await page.locator(`::-p-text(${tab.name})`).click();
      await waitForText(page, tab.text, url);
      await new Promise((r) => setTimeout(r, 1_500));
      await page.screenshot({ path: tab.file });
    }
  } finally {
    await browser.close();
  }
}

async function waitForText(page: Page, text: string, url: string): Promise<void> {
  await page
    .waitForFunction(
      (t: string) =>
        (
          globalThis as unknown as { document: { body: { innerText: string } } }
        ).document.body.innerText.includes(t),
      { timeout: 30_000 },
      text,
    )
    .catch(() =>
      console.error(`kappa: ${url} did not show "${text}" within 30 s; the picture shows what it did`),
    );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
