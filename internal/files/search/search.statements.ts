/**
 * One search as ONE statement, whatever the number of matches: the page and the total come from a
 * one-row count joined to the ranked page, so even an empty page is one round trip.
 *
 * How the rows are found (measured with bench/search.bench.ts, 100 000 files of one person):
 * - MariaDB has no n-gram FULLTEXT parser, and InnoDB FULLTEXT finds whole words and word
 *   prefixes only ("port" does not find "report"), with a minimum token size and stopwords. A
 *   trigram side table would cost a row per trigram on every create and rename. Instead the
 *   index files_search_idx (owner_id, trash_key, search_key, updated_at) holds every live key
 *   of a person next to what ranking needs: the LIKE '%q%' runs over that index alone (a binary
 *   collation, no table rows), and only the page's rows are read from the table. The scan is
 *   bounded by the person's item count, which the quota bounds in practice.
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
const FILE_COLUMNS = 'id, owner_id, parent_id, name, name_key, path, is_folder, size, blob_id, content_hash, mime_type, trash_key, trashed_at, trashed_by, created_at, updated_at';

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
  const contains = `%${escapeLike(key)}%`;
  const useFts = dialect === 'sqlite' && [...key].length >= 3;
  // The root (parent_id null) is nobody's search result; trash_key '' is live, trashed rows have their id.
  const where = (params: unknown[]): string => {
    const f = filterSql(filter, dateParam);
    params.push(ownerId, contains);
    let sql = "owner_id = ? and trash_key = '' and parent_id is not null and search_key like ? escape '!'";
    if (useFts) {
      sql += ' and rowid in (select rowid from files_name_fts where search_key like ?)';
      params.push(`%${key}%`);
    }
    params.push(...f.params);
    return sql + f.sql;
  };
  const params: unknown[] = [];
  const countWhere = where(params);
  params.push(key, `${escapeLike(key)}%`, `% ${escapeLike(key)}%`);
  const matchWhere = where(params);
  let keyset = '';
  if (page.after) {
    const c = page.after;
    const at = dateParam(c.updatedAt);
    keyset = ' where (m.rnk > ? or (m.rnk = ? and (m.updated_at < ? or (m.updated_at = ? and m.id < ?))))';
    params.push(c.rank, c.rank, at, at, c.id);
  }
  params.push(page.first + 1);
  const sql =
    `select c.total_count, m.* from (select count(*) as total_count from files where ${countWhere}) c` +
    ` left join (select * from (select ${FILE_COLUMNS},` +
    ` case when search_key = ? then 0 when search_key like ? escape '!' or search_key like ? escape '!' then 1 else 2 end as rnk` +
    ` from files where ${matchWhere}) m${keyset} order by m.rnk, m.updated_at desc, m.id desc limit ?) m on 1 = 1` +
    // The join keeps the count's one row when no item matches; the order is said again outside it.
    ' order by m.rnk, m.updated_at desc, m.id desc';
  return { sql, params };
}
