/**
 * The statements of one search (SQLite here; MariaDB in search.grams.ts), their number fixed
 * whatever the number of matches: the ranked page and, beside every row, the number of all
 * matches.
 *
 * SQLite: an FTS5 trigram index (migration `*_search_keys`) answers LIKE '%q%' from the index for
 * queries of three characters or more; shorter ones scan the covering index files_search_idx
 * (owner_id, trash_key, search_key, updated_at) of the person's live keys.
 * Ranking (both dialects): exact key 0, a word starting with the query 1, elsewhere inside 2;
 * then the newest change first, then id (a total order, so keyset paging never skips or repeats).
 */
import type { SearchFilter } from './search.dto.ts';


export interface SearchCursor {
  rank: number;
  updatedAt: Date;
  id: string;
}

/** Every column of a FileRow (mapped back by the ORM's result mapper), as files.paging.ts lists them. */
export const FILE_COLUMNS = ['id', 'owner_id', 'parent_id', 'name', 'name_key', 'path', 'is_folder', 'size', 'blob_id', 'content_hash', 'mime_type', 'trash_key', 'trashed_at', 'trashed_by', 'created_at', 'updated_at']
  .map((c) => `f.${c}`)
  .join(', ');

/** The rank of a row (parameters: key, `key%`, `% key%`). */
export const RANK_SQL = "case when search_key = ? then 0 when search_key like ? escape '!' or search_key like ? escape '!' then 1 else 2 end";

/** LIKE metacharacters escaped with '!' (the one escape both dialects spell alike). */
export function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

/** The filter's conditions on a files row, and their parameters. */
export function filterSql(filter: SearchFilter, dateParam: (d: Date) => unknown): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.mimeTypePrefix) {
    parts.push("mime_type like ? escape '!'");
    params.push(`${escapeLike(filter.mimeTypePrefix)}%`);
  }
  if (filter.modifiedAfter) {
    parts.push('updated_at > ?');
    params.push(dateParam(filter.modifiedAfter));
  }
  if (filter.minSize !== undefined) {
    parts.push('size >= ?');
    params.push(filter.minSize);
  }
  if (filter.maxSize !== undefined) {
    parts.push('size <= ?');
    params.push(filter.maxSize);
  }
  if (filter.foldersOnly) parts.push('is_folder = 1');
  return { sql: parts.map((p) => ` and ${p}`).join(''), params };
}

export interface Statement {
  sql: string;
  params: unknown[];
}

export interface SearchPage {
  first: number;
  after?: SearchCursor;
}

/** The rank's parameters for a key. */
export function rankParams(key: string): unknown[] {
  return [key, `${escapeLike(key)}%`, `% ${escapeLike(key)}%`];
}

/**
 * Every match as `id, updated_at, rnk` → the count of all of them beside each row (one window over
 * the same rows, about half the time of a count plus a page), the keyset, the page, and then the
 * page's own rows from `files` by id.
 */
export function rankedPage(matches: Statement, page: SearchPage, dateParam: (d: Date) => unknown): Statement {
  const params = [...matches.params];
  let keyset = '';
  if (page.after) {
    const c = page.after;
    const at = dateParam(c.updatedAt);
    keyset = ' where (w.rnk > ? or (w.rnk = ? and (w.updated_at < ? or (w.updated_at = ? and w.id < ?))))';
    params.push(c.rank, c.rank, at, at, c.id);
  }
  params.push(page.first + 1);
  const sql =
    `select p.total_count, p.rnk, ${FILE_COLUMNS} from (` +
    `select w.id, w.updated_at, w.rnk, w.total_count from (` +
    `select m.id, m.updated_at, m.rnk, count(*) over () as total_count from (${matches.sql}) m) w${keyset}` +
    ' order by w.rnk, w.updated_at desc, w.id desc limit ?) p' +
    ' join files f on f.id = p.id order by p.rnk, p.updated_at desc, p.id desc';
  return { sql, params };
}

/**
 * `key` is a search key (search-key.ts): letters, digits and single spaces only, never a LIKE
 * metacharacter (checked by the service), so the FTS5 pattern needs no ESCAPE clause, which FTS5
 * could not push down to its index.
 */
export function sqliteSearchStatement(ownerId: string, key: string, filter: SearchFilter, page: SearchPage, dateParam: (d: Date) => unknown): Statement {
  const f = filterSql(filter, dateParam);
  const params: unknown[] = [...rankParams(key), ownerId, `%${escapeLike(key)}%`];
  // The root (parent_id null) has the key '' and a query key is never empty, so it never matches.
  let where = "owner_id = ? and trash_key = '' and search_key like ? escape '!'";
  if ([...key].length >= 3) {
    where += ' and rowid in (select rowid from files_name_fts where search_key like ?)';
    params.push(`%${key}%`);
  }
  return rankedPage({ sql: `select id, updated_at, ${RANK_SQL} as rnk from files where ${where}${f.sql}`, params: [...params, ...f.params] }, page, dateParam);
}
