// Keeps the app's search attributes current, upserting only what changed: each upsert is a history event (and a
// visibility update on the server).
import { upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeType, SearchAttributeUpdatePair } from '@temporalio/common';
import { SearchAttribute } from '../common/temporal-names.js';

export type SearchAttributeValues = { [K in keyof typeof SearchAttribute]: string | number | null };

export class SearchAttributeSync {
  private readonly synced: Record<string, unknown>;

  /** `current`: values the workflow already has (those it started with), not upserted again. */
  constructor(current: Partial<SearchAttributeValues> = {}) {
    this.synced = Object.fromEntries(
      Object.entries(current).map(([name, value]) => [
        SearchAttribute[name as keyof typeof SearchAttribute].name,
        value,
      ]),
    );
  }

  sync(values: SearchAttributeValues): void {
    const updates: SearchAttributeUpdatePair[] = [];
    for (const name of Object.keys(SearchAttribute) as (keyof typeof SearchAttribute)[]) {
      const key: { name: string; type: SearchAttributeType } = SearchAttribute[name];
      const value = values[name];
      if (this.synced[key.name] === value) continue;
      updates.push({ key, value } as SearchAttributeUpdatePair);
      this.synced[key.name] = value;
    }
    if (updates.length > 0) upsertSearchAttributes(updates);
  }
}

/** The app's search attributes as this run started with them (`kappa deploy`, a schedule, a continued run). */
export function startedWith(): SearchAttributeValues {
  const { typedSearchAttributes } = workflowInfo();
  const value = (key: (typeof SearchAttribute)[keyof typeof SearchAttribute]) => {
    const v: unknown = typedSearchAttributes.get(key);
    return typeof v === 'string' || typeof v === 'number' ? v : null;
  };
  return {
    KappaApp: value(SearchAttribute.KappaApp),
    KappaKind: value(SearchAttribute.KappaKind),
    KappaPhase: value(SearchAttribute.KappaPhase),
    KappaRestarts: value(SearchAttribute.KappaRestarts),
    KappaYarnAppId: value(SearchAttribute.KappaYarnAppId),
  };
}
