// Kappa's own Prometheus metric names, in one place: the supervision activity emits the app's gauges, the workflow
// counts events (restarts, extra instances), the worker times the polls. Every one is in the README's metrics
// table and used by config/monitoring/ (the dashboard and the alerting rules).
export const Metric = {
  /** 1 while YARN says the supervised app is RUNNING, else 0 (gauge, from the supervision activity). */
  appUp: 'kappa_app_up',
  /** 1 while a worker supervises the app (gauge). */
  appSupervised: 'kappa_app_supervised',
  /** Unix time of the last poll that saw the app RUNNING (gauge). */
  appLastRunning: 'kappa_app_last_running_timestamp_seconds',
  /** Unix time of the last poll that found a StreamingApp gone from YARN's live states (gauge). */
  appLastEnded: 'kappa_app_last_ended_timestamp_seconds',
  /** Unix time since which the app's edge node has not answered (Degraded); 0 while it answers (gauge). */
  appDegradedSince: 'kappa_app_degraded_since_timestamp_seconds',
  /** Automatic restarts counted against `maxRestarts` (gauge). */
  restartsUsed: 'kappa_app_restarts_used',
  /** `maxRestarts` (gauge). */
  restartsAllowed: 'kappa_app_restarts_allowed',
  /** Automatic restarts (counter, from the workflow). */
  restarts: 'kappa_app_restarts_total',
  /** Other live instances of the app's YARN name found by supervision (counter, from the workflow). */
  extraInstances: 'kappa_app_extra_instances_total',
  /** Duration of each `yarn application -list`, by host and outcome (histogram, from the worker). */
  pollSeconds: 'kappa_supervision_poll_seconds',
} as const;

/** Bucket bounds of Metric.pollSeconds in seconds: a `yarn` JVM takes about a second, a hung one up to the cut-off. */
export const POLL_SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60] as const;
