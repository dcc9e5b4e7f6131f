// The editors' JSON Schema is generated from the zod schema; this keeps the committed file in sync and checks
// that the two agree on real configs.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { APP_CONFIG_SCHEMA_PATH, renderAppConfigJsonSchema } from '../../src/config/json-schema.js';

const ROOT = join(__dirname, '..', '..');

test('schema/app-config.schema.json is what `npm run schema` generates', () => {
  const committed = readFileSync(join(ROOT, APP_CONFIG_SCHEMA_PATH), 'utf8');
  assert.equal(committed, renderAppConfigJsonSchema(), 'run `npm run schema` and commit the result');
});

test('the JSON Schema accepts the examples and rejects what zod rejects', () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const validate = ajv.compile(
    JSON.parse(readFileSync(join(ROOT, APP_CONFIG_SCHEMA_PATH), 'utf8')) as object,
  );
  const dir = join(ROOT, 'config', 'apps');
  for (const file of readdirSync(dir)) {
    const config = parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;
    assert.ok(validate(config), `${file}: ${ajv.errorsText(validate.errors)}`);
    const withUnknownKey = { ...config, spec: { ...(config.spec as object), colour: 'red' } };
    assert.equal(validate(withUnknownKey), false, `${file} with an unknown key`);
    const withBadDuration = {
      ...config,
      spec: { ...(config.spec as object), yarn: { host: 'local', appName: 'X', pollInterval: '10 seconds' } },
    };
    assert.equal(validate(withBadDuration), false, `${file} with a bad duration`);
    const withBadName = { ...config, metadata: { name: 'Not_A_Label' } };
    assert.equal(validate(withBadName), false, `${file} with a bad name`);
  }
});
