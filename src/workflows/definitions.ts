// Signals, queries and updates of the app workflow: the names `temporal` CLI users type (docs/temporal.md).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AppConfigInput } from '../config/app-config.js';
import type { AppStatus, DeployResult, RestartRequest, StopRequest } from './types.js';

export type * from './types.js';

export const stopSignal = defineSignal<[StopRequest?]>('stop');
export const restartSignal = defineSignal<[RestartRequest?]>('restart');
export const deployUpdate = defineUpdate<DeployResult, [AppConfigInput]>('deploy');
export const statusQuery = defineQuery<AppStatus>('status');
