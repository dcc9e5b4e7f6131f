// Types of yarn-model.cjs, the one model of YARN applications behind fake-cluster.ts and the yarn double.

/** One application as the ResourceManager keeps it. */
export interface ModelApp {
  id: string;
  name: string;
  type: string;
  user: string;
  queue: string;
  state: string;
  finalStatus: string;
  /** 0 to 1, printed as DecimalFormat("###.##%"). */
  progress: number;
  startTime: number;
  /** 0 while the app is live. */
  finishTime: number;
  diagnostics: string;
  /** Comma-separated, lowercased. */
  tags: string;
}

/** How an app ended. */
export interface AppEnd {
  state: string;
  finalStatus: string;
  diagnostics: string;
}

export type KillOutcome = 'killed' | 'finished' | 'unknown';

/** YARN's application states, in enum order. */
export declare const STATES: readonly string[];
/** SUBMITTED, ACCEPTED, RUNNING: what `yarn application -list` shows without -appStates. */
export declare const LIVE_STATES: readonly string[];
export declare const KILLED_BY_USER: Readonly<AppEnd>;

export declare function isLive(state: string): boolean;
/** A full queue: submitted apps stay ACCEPTED until called with `false`. */
export declare function setQueueFull(dir: string, full: boolean): void;
export declare function sleepSync(ms: number): void;
/** Every app YARN knows in `dir`, as it would report them now. */
export declare function apps(dir: string): ModelApp[];
/** A new app with the next id, ACCEPTED unless `state` says otherwise. */
export declare function submit(
  dir: string,
  app: { name: string; state?: string; user?: string; tags?: string },
): ModelApp;
/** `yarn application -kill`: a live app ends KILLED; one that already ended is left as it is. */
export declare function kill(dir: string, id: string): KillOutcome;
/** The app ends on its own or is killed by someone else; throws for an unknown id. */
export declare function end(dir: string, id: string, how: AppEnd): void;
