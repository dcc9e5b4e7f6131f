// Kappa's own Prometheus metric names: the workflow emits the app's, the worker the poll durations.
export const Metric = {
  appUp: 'kappa_app_up',
  restarts: 'kappa_app_restarts_total',
  extraInstances: 'kappa_app_extra_instances_total',
  pollSeconds: 'kappa_supervision_poll_seconds',
} as const;
