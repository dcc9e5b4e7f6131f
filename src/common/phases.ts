export const Phase = {
  Starting: 'Starting',
  Running: 'Running',
  BackingOff: 'BackingOff',
  /** The edge node or `yarn` is unreachable; the app's state is unknown and nothing is restarted. */
  Degraded: 'Degraded',
  Stopping: 'Stopping',
  Stopped: 'Stopped',
  Failed: 'Failed',
  Succeeded: 'Succeeded',
} as const;
export type Phase = (typeof Phase)[keyof typeof Phase];

export const TERMINAL_PHASES: readonly Phase[] = [Phase.Stopped, Phase.Failed, Phase.Succeeded];
