// What crosses the activity boundary. Workflows import these with `import type` only.
import type { AppKind, Step } from '../config/app-config.js';
import type { YarnAppReport } from '../yarn/model.js';

/** Which app a call is about; carried into every log line. */
export interface AppRef {
  app: string;
  host: string;
  appName: string;
}

export interface RunStepInput extends AppRef {
  revision: number;
  attempt: number;
  step: Step;
}

export interface AwaitAppInput extends AppRef {
  appId?: string;
  timeoutMs: number;
  pollIntervalMs: number;
}

export interface SuperviseInput extends AppRef {
  kind: AppKind;
  appId: string;
  pollIntervalMs: number;
  unreachableTimeoutMs: number;
  /** Set while the edge node is unreachable: since when (epoch ms). */
  degradedSince?: number;
}

/** Why a supervision activity returned: the workflow acts on each and calls it again unless the app ended. */
export type SupervisionOutcome =
  | { kind: 'ended'; report: YarnAppReport }
  | { kind: 'unreachable'; since: number; error: string }
  | { kind: 'reachable' };

export interface KillAppInput extends AppRef {
  appId?: string;
}

export interface KillAppResult {
  killed: string[];
}
