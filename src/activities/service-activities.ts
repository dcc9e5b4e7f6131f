// The activities' side of `service` steps (model servers on Kubernetes): references resolved before a step runs,
// the services checked on every supervision poll, and removed when the app stops.
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { durationMs, formatDuration } from '../common/duration.js';
import { FailureType } from '../common/failures.js';
import type { Step } from '../config/app-config.js';
import { resolveStepRefs } from '../config/step-refs.js';
import type { KappaDeps, ServiceSteps } from '../ports.js';
import type { RemoveServicesInput, SuperviseInput, SupervisionOutcome } from './types.js';

/** The worker's service steps, or a non-retryable failure saying this worker has no Kubernetes. */
export function requireServices(deps: KappaDeps, step: string): ServiceSteps {
  if (deps.services) return deps.services;
  throw ApplicationFailure.create({
    type: FailureType.NotConfigured,
    nonRetryable: true,
    message: `step "${step}": this worker has no Kubernetes for service steps`,
  });
}

/** `step` with `${steps.<name>.…}` replaced by where the app's service steps answer (unchanged without any). */
export function withServiceRefs(deps: KappaDeps, app: string, step: Step, serviceSteps?: Step[]): Step {
  if (!serviceSteps || serviceSteps.length === 0) return step;
  return resolveStepRefs(step, requireServices(deps, step.name).refs(app, serviceSteps));
}

/**
 * One supervision's view of its app's services across polls: a change worth the workflow's attention (down past
 * `unavailableTimeout`, or back), or nothing. A service whose state cannot be read (the API server away) counts as
 * unavailable from the first failed read: the YARN app itself is not touched for it.
 */
export class ServiceWatch {
  private readSince: number | undefined;

  constructor(
    private readonly deps: KappaDeps,
    private readonly input: SuperviseInput,
  ) {}

  /** Whether there is a model service to look at on each poll. */
  get watching(): boolean {
    return (this.input.services?.steps.length ?? 0) > 0;
  }

  async change(): Promise<SupervisionOutcome | undefined> {
    const services = this.input.services;
    if (!services || services.steps.length === 0) return undefined;
    const ctx = Context.current();
    const { app } = this.input;
    for (const step of services.steps) {
      let check;
      try {
        // As applied: with the references to earlier services resolved, or it would be put back different.
        const applied = withServiceRefs(this.deps, app, step, services.steps);
        check = await requireServices(this.deps, step.name).check(app, services.revision, applied);
        this.readSince = undefined;
      } catch (err) {
        const message = (err as Error).message;
        this.readSince ??= Date.now();
        ctx.log.warn('cannot read the model service', { app, step: step.name, error: message });
        const boundMs = step.service ? durationMs(step.service.unavailableTimeout) : 0;
        if (services.degradedSince === undefined && Date.now() - this.readSince >= boundMs) {
          return {
            kind: 'serviceUnavailable',
            step: step.name,
            since: this.readSince,
            reason: `cannot read its state for ${formatDuration(Date.now() - this.readSince)}: ${message}`,
          };
        }
        return undefined;
      }
      if (check.kind === 'recreated') {
        ctx.log.warn('model service recreated', { app, step: step.name, reason: check.reason });
      }
      if (check.kind === 'unavailable') {
        if (services.degradedSince !== undefined) return undefined; // already Degraded for it
        ctx.log.warn('model service unavailable', { app, step: step.name, reason: check.reason });
        return { kind: 'serviceUnavailable', step: step.name, since: check.since, reason: check.reason };
      }
    }
    return services.degradedSince === undefined ? undefined : { kind: 'serviceAvailable' };
  }
}

export function serviceActivities(deps: KappaDeps) {
  return {
    /** Deletes the Deployment and Service of each service step, and returns once all are gone. */
    async removeServices(input: RemoveServicesInput): Promise<void> {
      const ctx = Context.current();
      for (const step of input.steps) {
        ctx.heartbeat({ removing: step.name });
        const beat = setInterval(() => ctx.heartbeat({ removing: step.name }), 5_000);
        try {
          await requireServices(deps, step.name).remove(input.app, step, ctx.cancellationSignal);
        } finally {
          clearInterval(beat);
        }
        ctx.log.info('model service removed', { app: input.app, step: step.name });
      }
    },
  };
}
