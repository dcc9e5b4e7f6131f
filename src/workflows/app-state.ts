// The app workflow's state in one place: what `status` shows, what continue-as-new carries, and the few rules
// for changing it. No I/O and no waiting: the phase modules do that.
import { log, setCurrentDetails } from '@temporalio/workflow';
import { durationMs } from '../common/duration.js';
import { Phase, TERMINAL_PHASES } from '../common/phases.js';
import type { RestartPolicyMs } from '../common/restart-policy.js';
import type { AppConfig, Step } from '../config/app-config.js';
import type { AppRef } from '../activities/types.js';
import type { RunPatches } from './run-patches.js';
import { SearchAttributeSync, startedWith } from './search-attributes.js';
import { currentDetails } from './ui-details.js';
import type {
  AppStatus,
  AppWorkflowInput,
  AttemptOutcome,
  AttemptRecord,
  CarriedState,
  ExtraInstance,
  PendingRequest,
  Resume,
} from './types.js';

/** How many attempts `status` keeps; older ones are in the workflow history. */
const ATTEMPTS_KEPT = 10;

/** The YARN application the workflow knows as this app's instance. */
export interface Instance {
  appId: string;
  /** Set once supervision starts (epoch ms). */
  runningSince?: number;
  /** Set while the edge node is unreachable (epoch ms). */
  degradedSince?: number;
  /** Set while a model service (service step) has been unavailable past its bound (epoch ms). */
  serviceDegradedSince?: number;
  /** Set while YARN shows the app SUBMITTED or ACCEPTED, not RUNNING (epoch ms). */
  acceptedSince?: number;
  /** The YARN UI page of the app, as YARN reported it. */
  trackingUrl?: string;
}

export class AppState {
  config: AppConfig;
  revision: number;
  phase: Phase = Phase.Starting;
  /** The step running now. */
  step: string | null = null;
  restarts: number;
  totalRestarts: number;
  instance: Instance | undefined;
  lastHeartbeatAt: string | null;
  lastError: string | null;
  attempts: AttemptRecord[];
  /** A stop or restart that arrived and has not been acted on yet. */
  pending: PendingRequest | undefined;
  /** While backing off: when the next restart starts (epoch ms). */
  backoffUntil: number | undefined;
  /**
   * Service steps a `deploy` dropped, renamed or moved to another namespace: their objects are deleted at the
   * restart that deploy asks for (or at a stop before it), so none is left behind.
   */
  retiredServices: Step[] = [];
  private readonly searchAttributes: SearchAttributeSync;

  constructor(
    input: AppWorkflowInput,
    /** The run's patch decisions, asked at its start (run-patches.ts). */
    readonly patches: RunPatches,
  ) {
    this.config = input.config;
    this.searchAttributes = new SearchAttributeSync(patches.quickStart ? startedWith() : {});
    this.revision = input.revision ?? 1;
    const carried = input.carried;
    this.restarts = carried?.restarts ?? 0;
    this.totalRestarts = carried?.totalRestarts ?? 0;
    this.attempts = carried?.attempts ?? [];
    this.lastError = carried?.lastError ?? null;
    this.lastHeartbeatAt = carried?.lastHeartbeatAt ?? null;
    this.pending = carried?.pending;
    const resume = carried?.resume;
    if (resume?.kind === 'supervise') this.instance = { appId: resume.appId };
  }

  get name(): string {
    return this.config.metadata.name;
  }

  get appRef(): AppRef {
    const { yarn } = this.config.spec;
    return { app: this.name, host: yarn.host, appName: yarn.appName };
  }

  get firstStep(): string {
    return this.config.spec.steps[0]!.name;
  }

  /** The app's `service` steps (model services kept with it), in config order. */
  get serviceSteps(): Step[] {
    return this.config.spec.steps.filter((step) => step.service !== undefined);
  }

  /** Notes the service steps of the running config that `next` no longer has (same name, same namespace). */
  retireServicesMissingFrom(next: AppConfig): void {
    const kept = (step: Step) =>
      next.spec.steps.some(
        (s) =>
          s.service !== undefined && s.name === step.name && s.service.namespace === step.service?.namespace,
      );
    this.retiredServices.push(...this.serviceSteps.filter((step) => !kept(step)));
  }

  /** Where an automatic restart starts: `restartPolicy.from`, else the first step. */
  get restartFrom(): string {
    return this.config.spec.restartPolicy.from ?? this.firstStep;
  }

  get restartPolicyMs(): RestartPolicyMs {
    const policy = this.config.spec.restartPolicy;
    return {
      maxRestarts: policy.maxRestarts,
      resetAfterMs: durationMs(policy.resetAfter),
      backoff: {
        initialMs: durationMs(policy.backoff.initial),
        factor: policy.backoff.factor,
        maxMs: durationMs(policy.backoff.max),
      },
    };
  }

  setPhase(phase: Phase, why?: string): void {
    if (phase !== this.phase) {
      log.info(`phase ${this.phase} -> ${phase}${why ? `: ${why}` : ''}`, { app: this.name });
    }
    this.phase = phase;
    this.sync();
  }

  /** Records that an activity answered: `lastHeartbeatAt` in `status`. */
  heard(): void {
    this.lastHeartbeatAt = new Date().toISOString();
  }

  /** Starts a new attempt record and returns its number. */
  beginAttempt(from: string, reason: string): number {
    const attempt = (this.attempts.at(-1)?.attempt ?? 0) + 1;
    const record: AttemptRecord = {
      attempt,
      revision: this.revision,
      from,
      reason,
      startedAt: new Date().toISOString(),
    };
    this.attempts = [...this.attempts, record].slice(-ATTEMPTS_KEPT);
    log.info(`attempt ${attempt} from step "${from}": ${reason}`, {
      app: this.name,
      revision: this.revision,
    });
    return attempt;
  }

  endAttempt(
    attempt: number,
    outcome: AttemptOutcome,
    fields: { yarnAppId?: string; error?: string } = {},
  ): void {
    const endedAt = new Date().toISOString();
    this.attempts = this.attempts.map((record) =>
      record.attempt === attempt
        ? {
            ...record,
            ...(fields.yarnAppId ? { yarnAppId: fields.yarnAppId } : {}),
            endedAt,
            outcome,
            ...(fields.error ? { error: fields.error } : {}),
          }
        : record,
    );
  }

  /** The attempt that brought up YARN application `appId`, if it is still the latest. */
  attemptOf(appId: string): number | undefined {
    const last = this.attempts.at(-1);
    return last?.yarnAppId === appId ? last.attempt : undefined;
  }

  /** Notes other live instances of the name seen beside `appId`, on the attempt that brought it up. */
  noteExtraInstances(appId: string, ids: string[], action: ExtraInstance['action']): void {
    const attempt = this.attemptOf(appId);
    const seenAt = new Date().toISOString();
    const found = ids.map((yarnAppId) => ({ yarnAppId, seenAt, action }));
    this.attempts = this.attempts.map((record) =>
      record.attempt === attempt
        ? { ...record, extraInstances: [...(record.extraInstances ?? []), ...found].slice(-ATTEMPTS_KEPT) }
        : record,
    );
    log.warn(
      `other live instance${ids.length === 1 ? '' : 's'} of the app beside ${appId}: ${ids.join(', ')} (${action})`,
      {
        app: this.name,
      },
    );
  }

  takePending(): PendingRequest | undefined {
    const request = this.pending;
    this.pending = undefined;
    return request;
  }

  carried(resume: Resume): CarriedState {
    return {
      resume,
      pending: this.pending,
      restarts: this.restarts,
      totalRestarts: this.totalRestarts,
      attempts: this.attempts,
      lastError: this.lastError,
      lastHeartbeatAt: this.lastHeartbeatAt,
    };
  }

  status(): AppStatus {
    const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
    const ended = TERMINAL_PHASES.includes(this.phase);
    return {
      app: this.name,
      kind: this.config.kind,
      phase: this.phase,
      step: this.step,
      restarts: this.restarts,
      totalRestarts: this.totalRestarts,
      // A run that ended still names the application it ended with (a BatchJob's, the last one that failed).
      yarnAppId: this.instance?.appId ?? (ended ? (this.attempts.at(-1)?.yarnAppId ?? null) : null),
      lastHeartbeatAt: this.lastHeartbeatAt,
      lastError: this.lastError,
      revision: this.revision,
      runningSince:
        ended || this.instance?.acceptedSince !== undefined ? null : iso(this.instance?.runningSince),
      degradedSince: iso(this.instance?.degradedSince),
      acceptedSince: iso(this.instance?.acceptedSince),
      nextRestartAt: this.phase === Phase.BackingOff ? iso(this.backoffUntil) : null,
      attempts: this.attempts,
    };
  }

  sync(): void {
    this.searchAttributes.sync({
      KappaApp: this.name,
      KappaKind: this.config.kind,
      KappaPhase: this.phase,
      KappaRestarts: this.restarts,
      KappaYarnAppId: this.instance?.appId ?? null,
    });
    setCurrentDetails(
      currentDetails(this.status(), {
        trackingUrl: this.instance?.trackingUrl,
        maxRestarts: this.config.spec.restartPolicy.maxRestarts,
      }),
    );
  }
}
