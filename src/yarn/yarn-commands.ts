// The yarn CLI invocations Kappa makes, as argv (quoted by the command runner, never pasted).
import { LIVE_STATES } from './model.js';

export const LIVE_STATES_ARG = LIVE_STATES.join(',');

export function listLiveArgv(yarnCommand: string): string[] {
  return [yarnCommand, 'application', '-list', '-appStates', LIVE_STATES_ARG];
}

export function statusArgv(yarnCommand: string, appId: string): string[] {
  return [yarnCommand, 'application', '-status', appId];
}

export function killArgv(yarnCommand: string, appId: string): string[] {
  return [yarnCommand, 'application', '-kill', appId];
}
