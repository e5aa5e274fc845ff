/**
 * How many items each list field of schema.graphql can return, for pricing (query-cost.ts).
 *
 * A list with a `first` argument returns at most that many (or the connection under it does, on
 * its `edges`); the rest are bounded by what the service reads. Those bounds live here, each
 * next to where it comes from; `query-cost.test.ts` fails when a list field of the schema is
 * neither paged nor listed here, so a new list cannot silently be priced at a guess.
 */
import { MAX_DEPTH, MAX_PAGE, UPLOAD_FILES_MAX } from '../../internal/files/index.ts';
import { PROOF_RANGES, UPLOAD_LINKS_LISTED } from '../../internal/uploads/index.ts';
import { ACCESS_TOKENS_LISTED } from '../../internal/accounts/index.ts';
import { VERSIONS_KEEP_MAX } from '../../internal/platform/config.ts';

export { MAX_PAGE };

/** `Type.field` → the most items that list returns. */
export const LIST_MAXIMUM: ReadonlyMap<string, number> = new Map([
  // files.repository.ts listTrash: the roots of deletions, `limit(1000)`.
  ['Query.trash', 1000],
  // shares.repository.ts listByOwner: `limit: 1000`.
  ['Query.shares', 1000],
  // uploads.repository.ts listUnfinished: `limit: 200`.
  ['Query.uploads', 200],
  // Folders nest at most MAX_DEPTH deep (files.service.ts).
  ['File.ancestors', MAX_DEPTH],
  // upload-plan.rules.ts: a challenge asks for PROOF_RANGES ranges.
  ['Challenge.ranges', PROOF_RANGES],
  // The routing file names the backends; no deployment has hundreds.
  ['Query.storageBackends', 100],
  // access-tokens.service.ts list: the newest ACCESS_TOKENS_LISTED, expired ones included.
  ['Query.accessTokens', ACCESS_TOKENS_LISTED],
  // upload-links.service.ts list: the newest UPLOAD_LINKS_LISTED, revoked and expired ones included.
  ['Query.uploadLinks', UPLOAD_LINKS_LISTED],
  // versions.statements.ts prune: a file keeps at most VERSIONS_KEEP, which config.ts bounds.
  ['File.versions', VERSIONS_KEEP_MAX],
  // batch-commit.router.ts: uploadFiles answers one result per file, at most UPLOAD_FILES_MAX.
  ['Mutation.uploadFiles', UPLOAD_FILES_MAX],
]);
