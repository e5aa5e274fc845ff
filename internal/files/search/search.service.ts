/**
 * Search over a person's live items by name (the README's "Search"):
 * - the query is folded like the names (search-key.ts): case, accents and punctuation do not
 *   matter, and it must keep at least one letter or digit (BAD_INPUT search_query_empty), so a
 *   query of only `%`, `_` or `*` is refused before any statement instead of matching everything;
 * - at most MAX_QUERY characters (BAD_INPUT search_query_too_long): a name has at most 255 bytes,
 *   so a longer query could match nothing, and refusing it says so instead of silently cutting;
 * - `first` from 0 to MAX_PAGE (BAD_INPUT page_size), as every list;
 * - a cursor belongs to one person, query and filter: it carries a digest of them, and one from
 *   another search is BAD_INPUT invalid_cursor (never a page of someone else's order).
 */
import { createHash } from 'node:crypto';
import { AppError } from '../../platform/errors.ts';
import type { Viewer } from '../../platform/request-context.ts';
import { toFileDto, type Connection } from '../files.dto.ts';
import { MAX_PAGE } from '../files.service.ts';
import type { SearchFilter, SearchInput } from './search.dto.ts';
import { searchKey } from './search-key.ts';
import type { SearchRepository } from './search.repository.ts';
import type { SearchCursor } from './search.statements.ts';

/** The longest query, in characters (code points). */
export const MAX_QUERY = 255;

interface CursorJson {
  r: number;
  u: string;
  id: string;
  /** The number of matches when the cursor was made: the total of an empty page after it. */
  t: number;
  s: string;
}

export class SearchService {
  constructor(private readonly repo: SearchRepository) {}

  async search(viewer: Viewer, input: SearchInput): Promise<Connection> {
    assertQueryLength(input.query);
    const key = searchKey(input.query);
    if (!/^[\p{L}\p{N}]+( [\p{L}\p{N}]+)*$/u.test(key)) {
      throw new AppError('BAD_INPUT', 'A search query needs at least one letter or digit', { details: { field: 'query', reason: 'search_query_empty' } });
    }
    if (!Number.isInteger(input.first) || input.first < 0 || input.first > MAX_PAGE) {
      throw new AppError('BAD_INPUT', `first must be between 0 and ${MAX_PAGE}`, { details: { field: 'first', reason: 'page_size' } });
    }
    const filter = input.filter ?? {};
    const scope = scopeOf(viewer.userId, key, filter);
    const after = input.after === undefined ? undefined : decodeCursor(input.after, scope);
    const result = await this.repo.search(viewer.userId, key, filter, { first: input.first, ...(after ? { after } : {}) });
    // The count comes with the rows (first = 0 still reads one). No row: nothing matches, or the
    // cursor was the last match, whose count the cursor carries.
    const totalCount = result.totalCount ?? after?.total ?? 0;
    const edges = result.hits.map((h) => ({ cursor: encodeCursor({ rank: h.rank, updatedAt: h.row.updatedAt, id: h.row.id }, totalCount, scope), node: toFileDto(h.row) }));
    return { edges, pageInfo: { hasNextPage: result.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
  }
}

/**
 * BAD_INPUT search_query_too_long above MAX_QUERY characters. The gateway checks it too, before
 * the tRPC hop: a query travels in a GET URL to a remote files service, and 10 000 accented
 * letters (60 KB percent-encoded) would pass Node's header limit (431) instead of this answer.
 */
export function assertQueryLength(query: string): void {
  if ([...query].length > MAX_QUERY) {
    throw new AppError('BAD_INPUT', `A search query can have at most ${MAX_QUERY} characters`, { details: { field: 'query', reason: 'search_query_too_long' } });
  }
}

/** A digest of who searched for what: a cursor is valid only for the same search. */
function scopeOf(userId: string, key: string, filter: SearchFilter): string {
  const f = [filter.mimeTypePrefix ?? '', filter.modifiedAfter?.toISOString() ?? '', filter.minSize ?? '', filter.maxSize ?? '', filter.foldersOnly ? 1 : 0];
  return createHash('sha256').update(JSON.stringify([userId, key, f])).digest('base64url').slice(0, 16);
}

function encodeCursor(c: SearchCursor, total: number, scope: string): string {
  const json: CursorJson = { r: c.rank, u: c.updatedAt.toISOString(), id: c.id, t: total, s: scope };
  return Buffer.from(JSON.stringify(json)).toString('base64url');
}

function decodeCursor(after: string, scope: string): SearchCursor & { total: number } {
  const bad = (cause?: unknown) => new AppError('BAD_INPUT', 'Invalid cursor', { cause, details: { field: 'after', reason: 'invalid_cursor' } });
  let c: CursorJson;
  try {
    c = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as CursorJson;
  } catch (error) {
    throw bad(error);
  }
  if (typeof c !== 'object' || c === null || ![0, 1, 2].includes(c.r) || typeof c.u !== 'string' || typeof c.id !== 'string' || c.id.length > 64 || !Number.isSafeInteger(c.t) || c.t < 0 || c.s !== scope) throw bad();
  const updatedAt = new Date(c.u);
  if (Number.isNaN(updatedAt.getTime())) throw bad();
  return { rank: c.r, updatedAt, id: c.id, total: c.t };
}
