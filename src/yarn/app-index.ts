// One poll's live apps, looked up by id and by name. A poll's list is shared by every supervision on its host
// (1000 apps: 1000 lookups in a 1000-row list per poll); the index is built once per list, on first use.
import type { YarnAppReport } from './model.js';

interface AppIndex {
  byId: Map<string, YarnAppReport>;
  byName: Map<string, YarnAppReport[]>;
}

const indexes = new WeakMap<readonly YarnAppReport[], AppIndex>();

function indexOf(apps: readonly YarnAppReport[]): AppIndex {
  let index = indexes.get(apps);
  if (!index) {
    index = { byId: new Map(), byName: new Map() };
    for (const app of apps) {
      index.byId.set(app.id, app);
      const named = index.byName.get(app.name);
      if (named) named.push(app);
      else index.byName.set(app.name, [app]);
    }
    indexes.set(apps, index);
  }
  return index;
}

/** The app with this id in `apps`, if listed. */
export function appById(apps: readonly YarnAppReport[], id: string): YarnAppReport | undefined {
  return indexOf(apps).byId.get(id);
}

/** The apps named `name` in `apps`, in list order. */
export function appsNamed(apps: readonly YarnAppReport[], name: string): readonly YarnAppReport[] {
  return indexOf(apps).byName.get(name) ?? [];
}
