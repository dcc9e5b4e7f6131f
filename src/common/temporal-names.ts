// The Temporal names users and tools rely on: task queue, workflow type and ids, search attributes.
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { Phase } from './phases.js';

export const TASK_QUEUE = 'kappa';
/** `kappa dev`'s Temporal Web UI. */
export const DEV_UI_PORT = 8233;
export const WORKFLOW_TYPE = 'appWorkflow';

export function workflowId(appName: string): string {
  return `kappa/${appName}`;
}

export const SearchAttribute = {
  KappaApp: defineSearchAttributeKey('KappaApp', SearchAttributeType.KEYWORD),
  KappaKind: defineSearchAttributeKey('KappaKind', SearchAttributeType.KEYWORD),
  KappaPhase: defineSearchAttributeKey('KappaPhase', SearchAttributeType.KEYWORD),
  KappaRestarts: defineSearchAttributeKey('KappaRestarts', SearchAttributeType.INT),
  KappaYarnAppId: defineSearchAttributeKey('KappaYarnAppId', SearchAttributeType.KEYWORD),
} as const;

/** What an app's workflow starts with (`kappa deploy`, and every run a BatchJob's schedule starts). */
export function initialSearchAttributes(app: string, kind: string): SearchAttributePair[] {
  return [
    { key: SearchAttribute.KappaApp, value: app },
    { key: SearchAttribute.KappaKind, value: kind },
    { key: SearchAttribute.KappaPhase, value: Phase.Starting },
    { key: SearchAttribute.KappaRestarts, value: 0 },
  ];
}

/** `NAME=Type` pairs as `temporal server start-dev --search-attribute` and `operator search-attribute create` take them. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<keyof typeof SearchAttribute, string> = {
  KappaApp: 'Keyword',
  KappaKind: 'Keyword',
  KappaPhase: 'Keyword',
  KappaRestarts: 'Int',
  KappaYarnAppId: 'Keyword',
};
