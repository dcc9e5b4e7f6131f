// The app workflow's types: what its signals, update and query carry, and what continue-as-new hands on.
import type { AppConfig, AppKind } from '../config/app-config.js';
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

export type AttemptOutcome = 'running' | 'failed' | 'stopped' | 'restarted' | 'succeeded' | 'adopted';

export interface AttemptRecord {
  attempt: number;
  /** The config revision this attempt ran. */
  revision: number;
  /** The step the attempt started from. */
  from: string;
  reason: string;
  startedAt: string;
  endedAt?: string;
  outcome?: AttemptOutcome;
  yarnAppId?: string;
  error?: string;
  /** Other live instances of the app's YARN name that supervision found while this attempt's app ran. */
  extraInstances?: ExtraInstance[];
}

export interface ExtraInstance {
  yarnAppId: string;
  seenAt: string;
  /** `killed` by `onExisting: adopt | kill`; `conflict` with `onExisting: fail` (the app then fails). */
  action: 'killed' | 'conflict';
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
  /** Set while YARN shows the app SUBMITTED or ACCEPTED, not RUNNING (phase `Starting`). */
  acceptedSince: string | null;
  /** While `BackingOff`: when the next automatic restart (number `restarts`) starts. */
  nextRestartAt: string | null;
  attempts: AttemptRecord[];
}

/** Where a workflow run continues (also what continue-as-new carries). Each phase's data lives here only. */
export type Resume =
  | { kind: 'start'; from: string; reason: string }
  | {
      kind: 'supervise';
      appId: string;
      runningSince: number;
      degradedSince?: number;
      /** A model service unavailable past its bound since then (epoch ms). */
      serviceDegradedSince?: number;
      /** YARN shows the app SUBMITTED or ACCEPTED, not RUNNING, since then (epoch ms). */
      acceptedSince?: number;
      /** The YARN UI page of the app, as YARN reported it. */
      trackingUrl?: string;
    }
  | { kind: 'backoff'; until: number; from: string };

/** What the loop does next: resume somewhere, handle the request that interrupted an attempt, or end. */
export type Next = Resume | { kind: 'interrupted' } | { kind: 'finished' };

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
