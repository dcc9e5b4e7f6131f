// What Kappa knows about YARN applications, whichever way it reads them (the `yarn` CLI today). Pure facts: no I/O.

/** One YARN application as `yarn application -list` / `-status` report it. */
export interface YarnAppReport {
  id: string;
  name: string;
  state: string;
  finalStatus: string;
  diagnostics?: string;
  /** The app's page in the YARN UI (absent when YARN says N/A). */
  trackingUrl?: string;
}

/** States in which a YARN application is live (`yarn application -list` without `-appStates`). */
export const LIVE_STATES = ['SUBMITTED', 'ACCEPTED', 'RUNNING'] as const;

export function isLive(state: string): boolean {
  return (LIVE_STATES as readonly string[]).includes(state);
}

/** Raised when the edge node or its `yarn` CLI cannot answer: not a statement about the app. */
export class YarnUnavailableError extends Error {
  override name = 'YarnUnavailableError';
}
