// docs/configuration.md's field tables are generated from the zod schemas (`npm run docs`); this keeps the
// committed file in sync, and checks that the configs the page shows are valid.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { validateAppConfig } from '../../src/config/validate-app.js';
import { workerConfigSchema } from '../../src/config/worker-config.js';
import { CONFIG_REFERENCE_PATH, renderConfigReference } from '../../scripts/write-config-reference.js';

const ROOT = join(__dirname, '..', '..');
const committed = () => readFileSync(join(ROOT, CONFIG_REFERENCE_PATH), 'utf8');

test('docs/configuration.md is what `npm run docs` generates', async () => {
  const text = committed();
  assert.equal(text, await renderConfigReference(text), 'run `npm run docs` and commit the result');
});

test('the generated tables list every field with its default', async () => {
  const text = await renderConfigReference(committed());
  for (const row of [
    '| `spec.yarn.pollInterval` | duration | `10s` |',
    '| `spec.restartPolicy.backoff.factor` | number ≥ 1 | `2` |',
    '| `spec.steps[].pod.keepPod` | `never` \\| `onFailure` \\| `always` | `onFailure` |',
    '| `hosts.<host>.port` | integer 1–65535 | `22` |',
  ]) {
    const pattern = row.replace(/[.*+?^${}()[\]\\]/g, '\\$&').replace(/ \\\| /g, ' *\\| *');
    assert.match(text, new RegExp(pattern), row);
  }
});

test('the configs docs/configuration.md shows are valid', () => {
  const blocks = [...committed().matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as unknown);
  const apps = blocks.filter((b) => (b as { apiVersion?: unknown } | null)?.apiVersion === 'kappa/v1');
  const workers = blocks.filter((b) => typeof b === 'object' && b !== null && 'hosts' in b);
  assert.ok(apps.length > 0 && workers.length > 0, 'an app config and a worker config example');
  for (const app of apps) {
    const result = validateAppConfig(app, { knownHosts: ['edge-1'] });
    assert.ok(result.ok, JSON.stringify(result.ok ? '' : result.issues));
  }
  for (const worker of workers) workerConfigSchema.parse(worker);
});
