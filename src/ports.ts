// The ports: the small interfaces activities use for I/O. Activities depend on these; the adapters (`ssh/`,
// `yarn/`, `kubernetes/`) and the test doubles implement them. Nothing here imports an adapter or an activity.
import type { PodStep, SshStep, Step } from './config/app-config.js';
import type { StepRefValues } from './config/step-refs.js';
import type { YarnAppReport } from './yarn/model.js';

export interface StepResult {
  /** The YARN application id the step printed (spark-submit's `Submitting application …`), if any. */
  yarnAppId?: string;
  /** The last lines of the step's output, bounded. */
  outputTail: string;
}

export interface StepContext {
  app: string;
  workflowId: string;
  runId: string;
  revision: number;
  attempt: number;
  stepName: string;
  /** Aborted on cancellation or timeout: the runner must stop its work and clean up, then reject. */
  signal: AbortSignal;
  /**
   * Whether the abort is this worker shutting down: the work is handed over, not cancelled. A runner leaves what
   * the next worker can reattach to (its last heartbeat names it) instead of cleaning it up.
   */
  handingOver(): boolean;
  /** Progress for Temporal (also what a retried activity finds in `heartbeatDetails`). */
  heartbeat(details?: unknown): void;
  /** Details of the previous attempt's last heartbeat, so a retry can reattach instead of starting over. */
  previousDetails: unknown;
  log(message: string, fields?: Record<string, unknown>): void;
}

export interface StepRunner<S> {
  run(step: S, ctx: StepContext): Promise<StepResult>;
}

export interface StepRunners {
  pod?: StepRunner<PodStep>;
  ssh?: StepRunner<SshStep>;
}

/** What a supervision poll learns of a model service (a `service` step's Deployment). */
export type ServiceCheck =
  | { kind: 'ok'; unavailableSince?: number }
  /** It was gone (deleted behind Kappa's back) and has been applied again. */
  | { kind: 'recreated'; reason: string }
  /** No available replica for longer than the step's `unavailableTimeout`; `reason` from its pods. */
  | { kind: 'unavailable'; since: number; reason: string };

/** The `service` steps: model servers as Kubernetes Deployments + Services, kept while their app runs. */
export interface ServiceSteps {
  /**
   * Applies the step's Deployment and Service for `ctx.revision` and waits until the Deployment is Available
   * with them (`timeoutMs` at most). The objects outlive the step: a failed or cancelled step leaves them.
   */
  run(step: Step, ctx: StepContext, timeoutMs: number): Promise<StepResult>;
  /** Once per supervision poll: puts a missing Deployment back, and says when it has been unavailable too long. */
  check(app: string, revision: number, step: Step): Promise<ServiceCheck>;
  /** Deletes the step's Deployment and Service, and returns once both are gone. */
  remove(app: string, step: Step, signal?: AbortSignal): Promise<void>;
  /** `${steps.<name>.url|host|port}` of the app's service steps, as this worker's defaults place them. */
  refs(app: string, steps: readonly Step[]): Record<string, StepRefValues>;
}

export interface YarnGateway {
  /**
   * Live applications on a host. A result up to `maxAgeMs` old may be shared with other callers (0: a fresh
   * call). Throws YarnUnavailableError when the host or `yarn` cannot answer.
   */
  listLive(host: string, maxAgeMs?: number): Promise<YarnAppReport[]>;
  /**
   * The first poll of a host's live applications that starts after `after` (epoch ms), on that host's poll
   * schedule (`intervalMs` apart). Every supervision of the host shares the same polls; a failed poll is
   * returned, not thrown, so each caller can count failures.
   */
  nextLive(host: string, intervalMs: number, after: number, options?: LiveWaitOptions): Promise<LiveSnapshot>;
  /** One application's report, in any state; undefined when YARN does not know the id. */
  status(host: string, appId: string): Promise<YarnAppReport | undefined>;
  /** Asks YARN to kill an application; a finished or unknown one is not an error. */
  kill(host: string, appId: string): Promise<void>;
}

export type LiveSnapshot = { startedAt: number } & ({ apps: YarnAppReport[] } | { error: string });

/** What a caller of nextLive may add: polls it need not hear of, and when to stop waiting. */
export interface LiveWaitOptions {
  /**
   * Called with each poll the caller would be given; true keeps it waiting for the next one instead. A thousand
   * supervisions of one host whose apps did not change then cost one synchronous call each per poll, not a
   * promise, a listener and a loop turn each.
   */
  quiet?: (snapshot: LiveSnapshot) => boolean;
  /** Once aborted, the caller no longer waits: it leaves the queue (the returned promise never settles). */
  signal?: AbortSignal;
}

export interface KappaDeps {
  steps: StepRunners;
  /** Absent on a worker without Kubernetes: a service step then fails as not configured. */
  services?: ServiceSteps;
  yarn: YarnGateway;
  /** Milliseconds between activity heartbeats (cancellation reaches an activity only through them). */
  heartbeatIntervalMs?: number;
}
