// The patches a run decides once, at its start. Asked after a local activity, a patch can be replayed in another
// workflow task than the one that recorded its marker (a local activity's result may come in the next task), and
// replay would take the old path: a nondeterminism error. So they are asked before the run's first local activity.
// Each patch also costs every run an upsert of TemporalChangeVersion: related changes share one.
import { patched } from '@temporalio/workflow';

/**
 * Marks runs that start in fewer workflow tasks: the existence check first as a local activity (attempt.ts
 * findLive), the last step reporting its app when YARN lists it (then no awaitApp), and the search attributes the
 * run started with taken as already set (no first upsert of the same values). Runs started before it keep the old
 * way to their end.
 */
const QUICK_START_PATCH = 'quick-start';

/** How this run goes where releases differ. */
export interface RunPatches {
  quickStart: boolean;
}

export function runPatches(): RunPatches {
  return { quickStart: patched(QUICK_START_PATCH) };
}
