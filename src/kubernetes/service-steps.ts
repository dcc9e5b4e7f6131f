// The `service` steps as the activities see them (the ServiceSteps port): the builder, the runner, the keeper and
// the deletion, placed by the worker config's Kubernetes defaults.
import type { Step } from '../config/app-config.js';
import type { StepRefValues } from '../config/step-refs.js';
import type { ServiceCheck, ServiceSteps, StepContext, StepResult } from '../ports.js';
import { durationMs } from '../common/duration.js';
import type { KubeClients } from './clients.js';
import { deleteService } from './service-api.js';
import { ServiceHealth } from './service-health.js';
import { ServiceKeeper } from './service-keeper.js';
import {
  buildServiceManifests,
  serviceStepRefs,
  type ServiceDefaults,
  type ServiceManifests,
} from './service-manifest.js';
import { ServiceStepRunner, type ServiceRunnerOptions } from './service-step-runner.js';

export class KubeServiceSteps implements ServiceSteps {
  private readonly runner: ServiceStepRunner;
  private readonly health: ServiceHealth;
  private readonly keeper: ServiceKeeper;

  constructor(
    private readonly kube: () => KubeClients,
    private readonly defaults: ServiceDefaults,
    options: ServiceRunnerOptions = {},
  ) {
    this.runner = new ServiceStepRunner(kube, options);
    this.health = new ServiceHealth(kube);
    this.keeper = new ServiceKeeper(kube, this.health);
  }

  async run(step: Step, ctx: StepContext, timeoutMs: number): Promise<StepResult> {
    const objects = this.manifests(ctx.app, ctx.revision, step);
    const result = await this.runner.run(objects, ctx, { timeoutMs });
    return {
      outputTail: `Deployment and Service ${result.namespace}/${result.name} available at ${result.url} (revision ${result.revision})`,
    };
  }

  check(app: string, revision: number, step: Step): Promise<ServiceCheck> {
    return this.keeper.check(
      this.manifests(app, revision, step),
      durationMs(service(step).unavailableTimeout),
    );
  }

  async remove(app: string, step: Step, signal?: AbortSignal): Promise<void> {
    // The revision does not matter for a deletion: names are the same for every revision.
    await deleteService(this.kube(), this.manifests(app, 0, step), signal ? { signal } : {});
  }

  refs(app: string, steps: readonly Step[]): Record<string, StepRefValues> {
    return serviceStepRefs(app, steps, this.defaults);
  }

  close(): void {
    this.health.stop();
  }

  private manifests(app: string, revision: number, step: Step): ServiceManifests {
    return buildServiceManifests(service(step), {
      app,
      step: step.name,
      revision,
      namespace: this.defaults.namespace,
      ...(this.defaults.serviceAccount !== undefined ? { serviceAccount: this.defaults.serviceAccount } : {}),
    });
  }
}

function service(step: Step) {
  if (!step.service) throw new Error(`step "${step.name}" is not a service step`);
  return step.service;
}
