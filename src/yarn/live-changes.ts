// A host's live apps as the last poll left them. On a REST host, between full lists, brought up to date by asking
// the ResourceManager only what changed since the last poll (its filters by start and finish time): a full list of
// 1000 apps is ~1.2 MB to move and parse, the changes of two seconds are a few apps. The `yarn` CLI gateway uses
// it for its full lists only (to keep the reports that did not change). Pure: no I/O.
import { isLive, type YarnAppReport } from './model.js';

/**
 * How far before the last poll the questions reach back: the worker's clock against the ResourceManager's (its
 * start and finish times are its own), and an app whose finish time was set just before a poll that still saw it
 * live. Asking further back only repeats apps already known.
 */
export const CHANGES_OVERLAP_MS = 30_000;

/** One poll for changes: what the ResourceManager answered to changesPaths, in that order. */
export interface LiveChanges {
  /** Every app SUBMITTED or ACCEPTED now: few, apps wait there only while they start. */
  waiting: YarnAppReport[];
  /** Live apps started since the cursor. */
  started: YarnAppReport[];
  /** Apps finished since the cursor; asked last, so it has the last word on an app that ended during the poll. */
  finished: YarnAppReport[];
}

/** The three questions of a poll for changes since `sinceMs` (epoch ms), in LiveChanges' order. */
export function changesPaths(sinceMs: number): string[] {
  const since = Math.max(0, Math.floor(sinceMs));
  const apps = '/ws/v1/cluster/apps';
  return [
    `${apps}?states=SUBMITTED,ACCEPTED`,
    `${apps}?states=SUBMITTED,ACCEPTED,RUNNING&startedTimeBegin=${since}`,
    `${apps}?finishedTimeBegin=${since}`,
  ];
}

/**
 * One host's view: a full list and the changes applied since. Reports that did not change stay the same objects,
 * and a poll that changed nothing returns the same list: a worker of 1000 apps polling every 2 s then makes no
 * garbage that lives long enough to be promoted, which would cost it full collections of its old generation.
 */
export class LiveView {
  private byId: Map<string, YarnAppReport> | undefined;
  private list: YarnAppReport[] = [];
  private fullAt = 0;
  private polledAt = 0;

  /**
   * Whether a poll starting at `now` may ask for changes: there is a view, and its full list is less than
   * `fullEveryMs` old (supervisions get a full list as often as they would poll the `yarn` CLI).
   */
  canAskChanges(now: number, fullEveryMs: number): boolean {
    return this.byId !== undefined && now - this.fullAt < fullEveryMs;
  }

  /** From when the next poll for changes asks (the ResourceManager's times are epoch ms). */
  changesSince(): number {
    return this.polledAt - CHANGES_OVERLAP_MS;
  }

  /** A full list, polled from `startedAt`, becomes the view. */
  full(startedAt: number, apps: YarnAppReport[]): YarnAppReport[] {
    const before = this.byId;
    const kept = apps.map((app) => {
      const held = before?.get(app.id);
      return held && sameReport(held, app) ? held : app;
    });
    const unchanged = kept.length === this.list.length && kept.every((app, i) => app === this.list[i]);
    if (!unchanged || !before) {
      this.byId = new Map(kept.map((app) => [app.id, app]));
      this.list = kept;
    }
    this.fullAt = startedAt;
    this.polledAt = startedAt;
    return this.list;
  }

  /**
   * The live apps after `changes`, polled from `startedAt`; undefined when the changes cannot tell (an app that
   * was waiting is neither waiting nor finished: RUNNING now, most likely, but only a full list says so).
   */
  apply(startedAt: number, { waiting, started, finished }: LiveChanges): YarnAppReport[] | undefined {
    const before = this.byId;
    if (!before) return undefined;
    let next: Map<string, YarnAppReport> | undefined; // copied on the first change
    for (const app of [...waiting, ...started]) {
      const held = (next ?? before).get(app.id);
      if (!isLive(app.state) || (held && sameReport(held, app))) continue;
      next ??= new Map(before);
      next.set(app.id, app);
    }
    for (const app of finished) {
      if (isLive(app.state) || !(next ?? before).has(app.id)) continue;
      next ??= new Map(before);
      next.delete(app.id);
    }
    const waitingIds = new Set(waiting.map((app) => app.id));
    for (const [id, app] of before) {
      if (app.state !== 'RUNNING' && !waitingIds.has(id) && (next ?? before).get(id) === app)
        return undefined;
    }
    if (next) {
      this.byId = next;
      this.list = [...next.values()];
    }
    this.polledAt = startedAt;
    return this.list;
  }

  /** A failed poll: the next one lists in full (what happened meanwhile is not known). */
  forget(): void {
    this.byId = undefined;
  }
}

function sameReport(a: YarnAppReport, b: YarnAppReport): boolean {
  return (
    a.id === b.id &&
    a.name === b.name &&
    a.state === b.state &&
    a.finalStatus === b.finalStatus &&
    a.trackingUrl === b.trackingUrl &&
    a.diagnostics === b.diagnostics
  );
}
