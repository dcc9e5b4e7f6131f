// Regenerates schema/app-config.schema.json from the zod schema (`npm run schema`).
import { writeFileSync } from 'node:fs';
import { APP_CONFIG_SCHEMA_PATH, renderAppConfigJsonSchema } from '../src/config/json-schema.js';

writeFileSync(APP_CONFIG_SCHEMA_PATH, renderAppConfigJsonSchema());
console.log(`wrote ${APP_CONFIG_SCHEMA_PATH}`);
