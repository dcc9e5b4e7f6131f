// The app config's validation as an activity: workflows check a hand-started input through it, so the schema
// library is never loaded into every cached workflow (it was most of a cached workflow's memory).
import { validateAppConfig } from '../config/validate-app.js';
import type { ValidateConfigInput, ValidateConfigResult } from './types.js';

export const configActivities = {
  /** `kappa validate`'s checks on one app config; issues are returned, not thrown (the workflow words them). */
  validateConfig(input: ValidateConfigInput): Promise<ValidateConfigResult> {
    const result = validateAppConfig(input.raw, { minimums: input.minimums });
    return Promise.resolve(
      result.ok ? { ok: true, config: result.config } : { ok: false, issues: result.issues },
    );
  },
};
