// The dependencies a production worker hands its activities.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../common/failures.js';
import type { WorkerConfig } from '../config/worker-config.js';
import type { KappaDeps, YarnGateway } from './deps.js';

/**
 * The SSH/YARN gateway and the pod and ssh step runners are the edge-node and Kubernetes issues' work; until
 * they land, a production worker says so plainly instead of pretending.
 */
export function productionDeps(_config: WorkerConfig): KappaDeps {
  const missing = (what: string) => () =>
    Promise.reject(
      ApplicationFailure.create({
        type: FailureType.NotConfigured,
        nonRetryable: true,
        message: `this Kappa build has no ${what} yet`,
      }),
    );
  const yarn: YarnGateway = {
    listLive: missing('YARN gateway'),
    status: missing('YARN gateway'),
    kill: missing('YARN gateway'),
  };
  return { steps: {}, yarn };
}
