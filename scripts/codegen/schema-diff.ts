/**
 * The breaking-change check of schema.graphql: @graphql-inspector/core's diff against the last
 * released schema (schema/released.graphql). A BREAKING change fails unless
 * schema/intended-changes.json lists it (its path, and its message when given) with a reason.
 */
import { CriticalityLevel, diff, type Change } from '@graphql-inspector/core';
import { buildSchema } from 'graphql';

export interface IntendedChange {
  /** The change's path as diff() reports it, e.g. `Query.uploads` or `UploadSession.status`. */
  path: string;
  /** When given, the change's message must be this too (one path can break in several ways). */
  message?: string;
  /** Why clients may break: who was told, what replaces it. */
  reason: string;
}

export interface SchemaVerdict {
  /** Breaking changes not marked as intended: the check fails when there is any. */
  unintended: Change[];
  intended: Change[];
  /** Dangerous and non-breaking changes, for the log. */
  other: Change[];
}

const matches = (change: Change, intended: IntendedChange) =>
  change.path === intended.path && (intended.message === undefined || change.message === intended.message);

export async function checkSchema(releasedSdl: string, currentSdl: string, intended: IntendedChange[]): Promise<SchemaVerdict> {
  const changes = await diff(buildSchema(releasedSdl), buildSchema(currentSdl));
  const verdict: SchemaVerdict = { unintended: [], intended: [], other: [] };
  for (const change of changes) {
    if (change.criticality.level !== CriticalityLevel.Breaking) verdict.other.push(change);
    else if (intended.some((i) => matches(change, i))) verdict.intended.push(change);
    else verdict.unintended.push(change);
  }
  return verdict;
}
