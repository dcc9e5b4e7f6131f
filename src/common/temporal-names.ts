// The Temporal names users and tools rely on (DESIGN.md, "Temporal names").
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

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

/** `NAME=Type` pairs as `temporal server start-dev --search-attribute` and `operator search-attribute create` take them. */
export const SEARCH_ATTRIBUTE_CLI_TYPES: Record<keyof typeof SearchAttribute, string> = {
  KappaApp: 'Keyword',
  KappaKind: 'Keyword',
  KappaPhase: 'Keyword',
  KappaRestarts: 'Int',
  KappaYarnAppId: 'Keyword',
};
