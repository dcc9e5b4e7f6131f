// What crosses the activity boundary. Workflows import these with `import type` only.
import type { AppKind, Step } from '../config/app-config.js';

/** One YARN application as `yarn application -list` / `-status` report it. */
export interface YarnAppReport {
  id: string;
  name: string;
  state: string;
  finalStatus: string;
  diagnostics?: string;
}

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

export interface StepResult {
  /** The YARN application id the step printed (spark-submit's `Submitting application …`), if any. */
  yarnAppId?: string;
  /** The last lines of the step's output, bounded. */
  outputTail: string;
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
