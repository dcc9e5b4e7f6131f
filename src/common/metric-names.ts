// Kappa's own Prometheus metric names: the workflow emits two of them, the worker the third.
export const Metric = {
  appUp: 'kappa_app_up',
  restarts: 'kappa_app_restarts_total',
  pollSeconds: 'kappa_supervision_poll_seconds',
} as const;
