// What crosses the activity boundary. Workflows import these with `import type` only.
import type { AppConfig, AppKind, OnExisting, Step } from '../config/app-config.js';
import type { ConfigIssue } from '../config/issues.js';
import type { StepResult } from '../ports.js';
import type { YarnAppReport } from '../yarn/model.js';

/** Which app a call is about; carried into every log line. */
export interface AppRef {
  app: string;
  host: string;
  appName: string;
}

/** What to do with a live instance of the app's YARN name that Kappa did not expect (`spec.yarn.onExisting`). */
export type OnExistingRule = (typeof OnExisting)[keyof typeof OnExisting];

export interface RunStepInput extends AppRef {
  revision: number;
  attempt: number;
  step: Step;
  /** Absent in inputs scheduled by older releases: then the config default, `adopt`. */
  onExisting?: OnExistingRule;
  /** Applications earlier steps of this attempt submitted: not left behind by a lost try of this step. */
  knownAppIds?: string[];
  /** The app's service steps, when it has any: `${steps.<name>.url}` in this step resolves to theirs. */
  serviceSteps?: Step[];
  /**
   * The attempt's last step: look its application up in the host's live list once it is submitted, and return
   * its report (the workflow then needs no awaitApp). Absent in inputs scheduled by older releases.
   */
  reportApp?: boolean;
}

export interface RunStepResult extends StepResult {
  /** True when a retried step found what its lost try had submitted and took it instead of submitting again. */
  adopted?: boolean;
  /** With `reportApp`: the application as YARN listed it right after the step, when it was listed. */
  report?: YarnAppReport;
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
  /** Absent in inputs scheduled by older releases: then extra instances are killed. */
  onExisting?: OnExistingRule;
  /**
   * How long the app may stay SUBMITTED/ACCEPTED. Absent in inputs scheduled by older releases: then any live
   * state counts as running, as it did.
   */
  acceptedTimeoutMs?: number;
  /** Set while YARN shows the app SUBMITTED or ACCEPTED, not RUNNING: since when (epoch ms). */
  acceptedSince?: number;
  /** The restart budget when the workflow called (for the app's metrics). Absent in inputs of older releases. */
  restartBudget?: RestartBudget;
  /** The app's model services (its service steps), watched on every poll; absent when it has none. */
  services?: SupervisedServices;
}

export interface SupervisedServices {
  /** The revision they were applied for (what a missing Deployment is applied again as). */
  revision: number;
  steps: Step[];
  /** Set while one has been unavailable past its `unavailableTimeout` (the app is Degraded): since when. */
  degradedSince?: number;
}

export interface RemoveServicesInput {
  app: string;
  steps: Step[];
}

/** The restart budget as the workflow saw it when it started a supervision. */
export interface RestartBudget {
  /** Automatic restarts counted against `maxRestarts`. */
  used: number;
  /** `maxRestarts`. */
  allowed: number;
  /** When `resetAfter` of running gives the app a fresh budget (epoch ms). */
  resetsAt?: number;
}

/** Why a supervision activity returned: the workflow acts on each and calls it again unless the app ended. */
export type SupervisionOutcome =
  | { kind: 'ended'; report: YarnAppReport }
  | { kind: 'unreachable'; since: number; error: string }
  /** The edge node answers again; `accepted` when YARN shows the app SUBMITTED/ACCEPTED (a recovered app). */
  | { kind: 'reachable'; accepted?: { since: number; state: string } }
  /** YARN shows the app SUBMITTED or ACCEPTED, not RUNNING (a fresh submit, a queue, an AM restarting). */
  | { kind: 'accepted'; since: number; state: string }
  /** YARN shows the app RUNNING again after `accepted`. */
  | { kind: 'running' }
  /** The app stayed SUBMITTED/ACCEPTED for `acceptedTimeoutMs`. */
  | { kind: 'notRunning'; report: YarnAppReport }
  /**
   * A poll showed other live instances of the app's YARN name. Killed already, unless `onExisting` is `fail`:
   * then the workflow decides.
   */
  | { kind: 'extraInstances'; apps: YarnAppReport[]; killed: boolean }
  /** A model service (service step `step`) has had no available replica for longer than its bound. */
  | { kind: 'serviceUnavailable'; step: string; since: number; reason: string }
  /** Every model service is available again. */
  | { kind: 'serviceAvailable' };

export interface KillAppInput extends AppRef {
  appId?: string;
  /** Kill `appId` alone, not the other live instances of the name. */
  only?: boolean;
}

export interface KillAppResult {
  killed: string[];
}

export interface ValidateConfigInput {
  /** The config as it came in (the Temporal UI, `temporal workflow start`). */
  raw: unknown;
  /** Apply the minimums `kappa validate` applies (a config written by hand). */
  minimums: boolean;
}

export type ValidateConfigResult = { ok: true; config: AppConfig } | { ok: false; issues: ConfigIssue[] };
