/**
 * One search as ONE statement, whatever the number of matches: the ranked page and, beside every
 * row, the number of all matches (a window count over the same scan).
 *
 * How the rows are found (measured with bench/search.bench.ts, 100 000 items of one person):
 * - MariaDB has no n-gram FULLTEXT parser, and InnoDB FULLTEXT finds whole words and word
 *   prefixes only ("port" does not find "report"), with a minimum token size and stopwords. A
 *   trigram side table would cost a row per trigram on every create and rename. Instead the
 *   index files_search_idx (owner_id, trash_key, search_key, updated_at; the id comes with every
 *   InnoDB secondary index) holds every live key of a person next to what ranking needs: the
 *   LIKE '%q%', the rank, the count and the order run over that index alone (a binary
 *   collation, no table rows), and only the page's rows are read from the table by id. The
 *   planner, left alone, picked files_name_unique and read every row (1.4 s instead of 40 ms in
 *   the same minute), hence the hint. One scan instead of a count plus a page: about half the time.
 *   The scan is bounded by the person's item count.
 * - SQLite: an FTS5 trigram index (migration `*_search_keys`) answers LIKE '%q%' from the index
 *   for queries of three characters or more; shorter ones scan the same covering index as above.
 * Ranking: exact key 0, a word starting with the query 1, elsewhere inside 2; then the newest
 * change first, then id (a total order, so keyset paging never skips or repeats).
 */
import type { SearchFilter } from './search.dto.ts';

export type Dialect = 'mysql' | 'sqlite';

export interface SearchCursor {
  rank: number;
  updatedAt: Date;
  id: string;
}

/** Every column of a FileRow (mapped back by the ORM's result mapper), as files.paging.ts lists them. */
const FILE_COLUMNS = ['id', 'owner_id', 'parent_id', 'name', 'name_key', 'path', 'is_folder', 'size', 'blob_id', 'content_hash', 'mime_type', 'trash_key', 'trashed_at', 'trashed_by', 'created_at', 'updated_at']
  .map((c) => `f.${c}`)
  .join(', ');

/** LIKE metacharacters escaped with '!' (the one escape both dialects spell alike). */
export function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

/** The filter's conditions on a files row, and their parameters. */
function filterSql(filter: SearchFilter, dateParam: (d: Date) => unknown): { sql: string; params: unknown[] } {
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

/**
 * `key` is a search key (search-key.ts): letters, digits and single spaces only, never a LIKE
 * metacharacter (checked by the service), so the FTS5 pattern needs no ESCAPE clause, which FTS5
 * could not push down to its index.
 */
export function searchStatement(
  dialect: Dialect,
  ownerId: string,
  key: string,
  filter: SearchFilter,
  page: { first: number; after?: SearchCursor },
  dateParam: (d: Date) => unknown,
): { sql: string; params: unknown[] } {
  const useFts = dialect === 'sqlite' && [...key].length >= 3;
  const f = filterSql(filter, dateParam);
  const params: unknown[] = [key, `${escapeLike(key)}%`, `% ${escapeLike(key)}%`, ownerId, `%${escapeLike(key)}%`];
  // The root (parent_id null) has the key '' and a query key is never empty, so it never matches.
  let where = "owner_id = ? and trash_key = '' and search_key like ? escape '!'";
  if (useFts) {
    where += ' and rowid in (select rowid from files_name_fts where search_key like ?)';
    params.push(`%${key}%`);
  }
  where += f.sql;
  params.push(...f.params);
  let keyset = '';
  if (page.after) {
    const c = page.after;
    const at = dateParam(c.updatedAt);
    keyset = ' where (w.rnk > ? or (w.rnk = ? and (w.updated_at < ? or (w.updated_at = ? and w.id < ?))))';
    params.push(c.rank, c.rank, at, at, c.id);
  }
  params.push(page.first + 1);
  const hint = dialect === 'mysql' ? ' force index (files_search_idx)' : '';
  const rank = "case when search_key = ? then 0 when search_key like ? escape '!' or search_key like ? escape '!' then 1 else 2 end";
  const sql =
    `select p.total_count, p.rnk, ${FILE_COLUMNS} from (` +
    `select w.id, w.updated_at, w.rnk, w.total_count from (` +
    `select m.id, m.updated_at, m.rnk, count(*) over () as total_count from (` +
    `select id, updated_at, ${rank} as rnk from files${hint} where ${where}) m) w${keyset}` +
    ' order by w.rnk, w.updated_at desc, w.id desc limit ?) p' +
    ' join files f on f.id = p.id order by p.rnk, p.updated_at desc, p.id desc';
  return { sql, params };
}
