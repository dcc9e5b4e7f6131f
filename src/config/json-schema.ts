// The JSON Schema editors use, generated from the zod schema so the two cannot drift.
import { z } from 'zod';
import { appConfigSchema } from './app-config.js';

export const APP_CONFIG_SCHEMA_PATH = 'schema/app-config.schema.json';

export function appConfigJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(appConfigSchema, { io: 'input', target: 'draft-2020-12' }),
    $id: 'https://kappa.dev/schema/app-config.schema.json',
    title: 'Kappa app config (kappa/v1)',
  };
}

export function renderAppConfigJsonSchema(): string {
  return JSON.stringify(appConfigJsonSchema(), null, 2) + '\n';
}
