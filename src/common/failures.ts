/**
 * The failure types that cross Temporal, as `ApplicationFailure.type`. Retry policies use the same map,
 * so a type is declared once. Code matches on `failure.type`, never on `instanceof`.
 */
export const FailureType = {
  /** A step ran and failed (non-zero exit, failed container): the restart policy decides what happens next. */
  StepFailed: 'StepFailed',
  /** A step ran past its `timeout`. */
  StepTimedOut: 'StepTimedOut',
  /** The steps ended but the YARN application never showed up. */
  AppDidNotAppear: 'AppDidNotAppear',
  /** The YARN application ended (it is not running any more). */
  AppEnded: 'AppEnded',
  /** The YARN application stayed SUBMITTED/ACCEPTED past `acceptedTimeout`; Kappa killed it. */
  AppNotRunning: 'AppNotRunning',
  /** `onExisting: fail` and an instance is already live. */
  ExistingInstance: 'ExistingInstance',
  /** The edge node or its `yarn` CLI failed for longer than `unreachableTimeout`. */
  EdgeNodeUnreachable: 'EdgeNodeUnreachable',
  /** Automatic restarts used up: the workflow fails with this type. */
  RestartBudgetExhausted: 'RestartBudgetExhausted',
  /** The worker lacks what a step needs (an executor, a host). Retrying cannot help. */
  NotConfigured: 'NotConfigured',
  /** A config that does not validate. */
  InvalidConfig: 'InvalidConfig',
  /** A model service (service step) could not be deleted when its app stopped or finished: it is still there. */
  ServiceLeftBehind: 'ServiceLeftBehind',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Failures that another attempt of the same activity cannot fix. */
export const NON_RETRYABLE_FAILURES: FailureType[] = [
  FailureType.StepFailed,
  FailureType.StepTimedOut,
  FailureType.AppDidNotAppear,
  FailureType.AppEnded,
  FailureType.AppNotRunning,
  FailureType.ExistingInstance,
  FailureType.EdgeNodeUnreachable,
  FailureType.NotConfigured,
  FailureType.InvalidConfig,
  FailureType.ServiceLeftBehind,
];
