// The config validation run inside a workflow, loaded on first use: workflows keep a module cache each, and the
// schema library evaluated in every cached workflow was most of its memory. Only a deploy update and replays of
// runs recorded before the input check moved into an activity get here.
import type * as ValidateApp from '../config/validate-app.js';

/** `validateAppConfig`, its module loaded now (once per workflow that needs it) rather than at workflow start. */
export function validateAppConfigInline(
  ...args: Parameters<typeof ValidateApp.validateAppConfig>
): ReturnType<typeof ValidateApp.validateAppConfig> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberately lazy, see above
  const { validateAppConfig } = require('../config/validate-app.js') as typeof ValidateApp;
  return validateAppConfig(...args);
}
