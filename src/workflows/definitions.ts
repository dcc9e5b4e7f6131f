// Signals, queries and updates of the app workflow: the names `temporal` CLI users type (DESIGN.md).
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AppConfig, AppConfigInput, AppKind } from '../config/app-config.js';
import type { Phase } from '../common/phases.js';

export interface StopRequest {
  /** Stop supervising but leave the YARN application running. */
  leaveRunning?: boolean;
  reason?: string;
}

export interface RestartRequest {
  reason?: string;
}

export interface DeployResult {
  revision: number;
  /** False when the config equals the running one: nothing was restarted. */
  changed: boolean;
}

export interface AttemptRecord {
  attempt: number;
  /** The config revision this attempt ran. */
  revision: number;
  /** The step the attempt started from. */
  from: string;
  reason: string;
  startedAt: string;
  endedAt?: string;
  outcome?: 'running' | 'failed' | 'stopped' | 'restarted' | 'succeeded' | 'adopted';
  yarnAppId?: string;
  error?: string;
}

export interface AppStatus {
  app: string;
  kind: AppKind;
  phase: Phase;
  /** The step running now, if any. */
  step: string | null;
  /** Automatic restarts counted against `maxRestarts` (reset after `resetAfter` of running). */
  restarts: number;
  /** All automatic restarts since the app was first deployed. */
  totalRestarts: number;
  yarnAppId: string | null;
  /** When the workflow last heard from the YARN poller or a step (ISO time). */
  lastHeartbeatAt: string | null;
  lastError: string | null;
  revision: number;
  runningSince: string | null;
  degradedSince: string | null;
  attempts: AttemptRecord[];
}

/** Where a workflow run continues (also what continue-as-new carries). */
export type Resume =
  | { kind: 'start'; from: string; reason: string }
  | { kind: 'supervise'; appId: string; runningSince: number; degradedSince?: number }
  | { kind: 'backoff'; until: number; from: string };

export type PendingRequest =
  | { kind: 'stop'; leaveRunning: boolean; reason: string }
  | { kind: 'restart'; reason: string; from?: string };

export interface CarriedState {
  resume: Resume;
  pending?: PendingRequest;
  restarts: number;
  totalRestarts: number;
  attempts: AttemptRecord[];
  lastError: string | null;
  lastHeartbeatAt: string | null;
}

export interface AppWorkflowInput {
  /** The app config, defaults filled in (as `kappa deploy` sends it). */
  config: AppConfig;
  revision?: number;
  /** Set by continue-as-new only. */
  carried?: CarriedState;
}

export const stopSignal = defineSignal<[StopRequest?]>('stop');
export const restartSignal = defineSignal<[RestartRequest?]>('restart');
export const deployUpdate = defineUpdate<DeployResult, [AppConfigInput]>('deploy');
export const statusQuery = defineQuery<AppStatus>('status');
