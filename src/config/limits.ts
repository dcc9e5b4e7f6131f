// The limits of every duration and count in the configs, each with the reason an operator would give. The schemas
// (app-config.ts, worker-config.ts) enforce them and carry them into their descriptions, so the JSON Schema and
// docs/configuration.md say the same.
import type { DurationLimits } from './fields.js';

/** App config durations. Every maximum is below Node's timer limit (MAX_TIMER_MS), checked by boundedDuration. */
export const APP_DURATION_LIMITS = {
  pollInterval: {
    min: '1s',
    belowMin: 'each poll starts a `yarn` JVM on the edge node',
    max: '1h',
    aboveMax: 'an app that ended would go unnoticed that long',
  },
  unreachableTimeout: {
    min: '1m',
    belowMin: 'a ResourceManager failover must not count as an outage',
    max: '7d',
    aboveMax: 'an edge node down for a week needs a person, not a wait',
  },
  appearTimeout: {
    min: '10s',
    belowMin: 'YARN can take seconds to list a just-submitted app',
    max: '1d',
    aboveMax: 'an app not listed within a day was never submitted',
  },
  acceptedTimeout: {
    min: '1m',
    belowMin:
      'YARN shows a fresh app ACCEPTED for 10–20 s, and a recovered one for ~30 s after a ResourceManager restart',
    max: '7d',
    aboveMax: 'an app queued for a week needs a person, not a wait',
  },
  podStepTimeout: {
    min: '10s',
    belowMin: 'a pod takes seconds just to be scheduled and started',
    max: '7d',
    aboveMax: 'a step that runs for a week is stuck',
  },
  sshStepTimeout: {
    min: '1s',
    belowMin: 'a command needs that long to connect and start',
    max: '7d',
    aboveMax: 'a step that runs for a week is stuck',
  },
  serviceStepTimeout: {
    min: '10s',
    belowMin: 'pods take seconds just to be scheduled and started, and a model server to load its model',
    max: '1d',
    aboveMax: 'a model server not available within a day is broken, not slow',
  },
  serviceUnavailableTimeout: {
    min: '10s',
    belowMin: 'a rolling update or a node drain leaves a service without ready replicas for seconds',
    max: '7d',
    aboveMax: 'a model service down for a week needs a person, not a wait',
  },
  probeInitialDelay: {
    min: '1s',
    belowMin: 'Kubernetes counts probe delays in whole seconds',
    max: '1h',
    aboveMax: 'a server that needs an hour before its first probe needs a startup probe, not a delay',
  },
  probePeriod: {
    min: '1s',
    belowMin: 'Kubernetes probes at most once a second',
    max: '1h',
    aboveMax: 'a replica that stopped answering would stay in the Service that long',
  },
  backoffInitial: {
    min: '1s',
    belowMin: 'a crashing app must not be resubmitted in a tight loop',
    max: '1h',
    aboveMax: 'the first restart should come soon; `factor` lengthens later waits',
  },
  backoffMax: {
    min: '1s',
    belowMin: 'a crashing app must not be resubmitted in a tight loop',
    max: '1d',
    aboveMax: 'an app waiting days between restarts is down, not backing off',
  },
  resetAfter: {
    min: '1m',
    belowMin: 'an app failing soon after each start must not earn a fresh budget every time',
    max: '7d',
    aboveMax: 'a week without a failure is a fresh start',
  },
} as const satisfies Record<string, DurationLimits>;

export const MAX_RESTARTS = {
  max: 1000,
  why: 'more means "never give up", which hides a broken app; `resetAfter` renews the budget of a healthy one',
} as const;

export const BACKOFF_FACTOR = {
  max: 10,
  why: 'a tenfold longer wait per restart is steep already, and `max` caps it anyway',
} as const;

/** Worker config limits. */
export const WORKER_LIMITS = {
  yarnTimeout: {
    min: '5s',
    belowMin: 'a `yarn` JVM takes about a second to start, and a busy edge node more',
    max: '15m',
    aboveMax:
      "the yarn client's own retries give up after 15 minutes (yarn.resourcemanager.connect.max-wait.ms)",
  },
  restPollInterval: {
    min: '1s',
    belowMin: 'each poll is still a request to the ResourceManager (and a curl on the edge node)',
    max: '1h',
    aboveMax: 'an app that ended would go unnoticed that long',
  },
  shutdownGraceTime: {
    min: '1s',
    belowMin: 'steps need a moment to end their remote commands and hand their pods over',
    max: '1h',
    aboveMax:
      "a stopping worker would hold up its restart that long (systemd's and Kubernetes' stop timeouts must exceed it)",
  },
  maxConcurrentActivities: {
    min: 10,
    max: 100_000,
    why: 'one worker process is too much to lose at once; run more workers rather than one huge one',
  },
  maxCachedWorkflows: {
    max: 20_000,
    why: 'up to 2 MB each, 40 GB at the maximum; the SDK needs 0 (no cache) or at least 2',
  },
} as const;
