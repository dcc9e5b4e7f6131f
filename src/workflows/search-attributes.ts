// Keeps the app's search attributes current, upserting only what changed: each upsert is a history event.
import { upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeType, SearchAttributeUpdatePair } from '@temporalio/common';
import { SearchAttribute } from '../common/temporal-names.js';

export type SearchAttributeValues = { [K in keyof typeof SearchAttribute]: string | number | null };

export class SearchAttributeSync {
  private readonly synced: Record<string, unknown> = {};

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
