/**
 * MariaDB's search statements, over the trigram table `search_grams` (migration
 * `*_search_grams`: one row per distinct trigram of every live item's key padded with a space at
 * both ends, beside the columns ranking and filters read, kept by triggers on `files`).
 *
 * Why not what came before: one scan of the person's covering index (files_search_idx) cost
 * ~37 ms for a miss and ~95 ms for a one-letter query at 100 000 items (`npm run bench`, step
 * `search`), because every search read every key of the person. MariaDB has no n-gram FULLTEXT
 * parser, and InnoDB FULLTEXT finds whole words only ("port" does not find "report").
 *
 * - Three letters or more: every match contains each trigram of the query, so the rows of any
 *   ONE trigram hold all matches; LIKE '%q%' on their copied key keeps the true ones. The rarest
 *   trigram is chosen first by the optimizer's own row estimates (one EXPLAIN of a UNION of
 *   index lookups, answered from index dives without reading the rows), so "invoice 2019" reads
 *   the rows of its rarest trigram, not of " 20". Two statements, whatever the result size.
 * - One or two letters: no trigram to read. One statement: the count scans the covering index as
 *   before (it is a count of a large share of the drive by nature); the page is three reads that
 *   each stop early: exact keys by files_search_idx equality, word starts from the trigrams that
 *   begin with a space and the query (" e%": every word starting with "e"), and the rest newest
 *   first by files_recent_idx (owner_id, trash_key, updated_at, id, search_key), which stops at a
 *   page when matches are dense. Worst case (a rare inside match of two letters): two scans.
 */
import {
  escapeLike,
  FILE_COLUMNS,
  filterSql,
  RANK_SQL,
  rankedPage,
  rankParams,
  type SearchCursor,
  type SearchPage,
  type Statement,
} from './search.statements.ts';
import type { SearchFilter } from './search.dto.ts';

/** At most this many of a long query's trigrams are weighed (spread over it); any of them is a correct filter. */
const MAX_WEIGHED = 8;

/** The distinct trigrams (by code point) of a key, in order. */
export function trigrams(key: string): string[] {
  const points = [...key];
  const seen = new Set<string>();
  for (let i = 0; i + 3 <= points.length; i++) seen.add(points.slice(i, i + 3).join(''));
  return [...seen];
}

/** The trigrams worth weighing: all of a short list, else MAX_WEIGHED spread from first to last. */
export function candidateGrams(grams: readonly string[]): string[] {
  if (grams.length <= MAX_WEIGHED) return [...grams];
  const step = (grams.length - 1) / (MAX_WEIGHED - 1);
  return [...new Set(Array.from({ length: MAX_WEIGHED }, (_, i) => grams[Math.round(i * step)] ?? ''))].filter((g) => g !== '');
}

/** EXPLAIN of one primary-key lookup per trigram: the `rows` estimate of select i is trigram i's. */
export function gramEstimateStatement(ownerId: string, grams: readonly string[]): Statement {
  return {
    sql: `explain ${grams.map(() => 'select 1 from search_grams where owner_id = ? and gram = ?').join(' union all ')}`,
    params: grams.flatMap((gram) => [ownerId, gram]),
  };
}

/** The trigram with the fewest estimated rows; EXPLAIN rows carry the select's 1-based `id`. */
export function rarestGram(grams: readonly string[], explained: readonly Record<string, unknown>[]): string {
  let best = grams[0] ?? '';
  let fewest = Number.POSITIVE_INFINITY;
  for (const row of explained) {
    const gram = grams[Number(row.id) - 1];
    const rows = Number(row.rows);
    if (gram !== undefined && Number.isFinite(rows) && rows < fewest) {
      fewest = rows;
      best = gram;
    }
  }
  return best;
}

/** A query of three letters or more, over one trigram's rows. */
export function gramSearchStatement(ownerId: string, key: string, gram: string, filter: SearchFilter, page: SearchPage, dateParam: (d: Date) => unknown): Statement {
  const f = filterSql(filter, dateParam);
  const matches = {
    sql: `select file_id as id, updated_at, ${RANK_SQL} as rnk from search_grams where owner_id = ? and gram = ? and search_key like ? escape '!'${f.sql}`,
    params: [...rankParams(key), ownerId, gram, `%${escapeLike(key)}%`, ...f.params],
  };
  return rankedPage(matches, page, dateParam);
}

/** A query of one or two letters: the count, and a page from three reads that stop early. */
export function shortSearchStatement(ownerId: string, key: string, filter: SearchFilter, page: SearchPage, dateParam: (d: Date) => unknown): Statement {
  const f = filterSql(filter, dateParam);
  const like = escapeLike(key);
  const limit = page.first + 1;
  // Keyset per rank: ranks before the cursor's are done, its own continues after it, later ones start.
  const after = (rank: number, idColumn: string): Statement => {
    const c: SearchCursor | undefined = page.after;
    if (!c || rank > c.rank) return { sql: '', params: [] };
    if (rank < c.rank) return { sql: ' and 1 = 0', params: [] };
    const at = dateParam(c.updatedAt);
    return { sql: ` and (updated_at < ? or (updated_at = ? and ${idColumn} < ?))`, params: [at, at, c.id] };
  };
  const live = "owner_id = ? and trash_key = ''";
  const k0 = after(0, 'id');
  const k1 = after(1, 'file_id');
  const k2 = after(2, 'id');
  const exact = `(select id, updated_at, 0 as rnk from files force index (files_search_idx) where ${live} and search_key = ?${f.sql}${k0.sql} order by updated_at desc, id desc limit ?)`;
  const wordStart =
    `(select file_id as id, updated_at, 1 as rnk from search_grams where owner_id = ? and gram like ? escape '!' and search_key <> ?${f.sql}${k1.sql}` +
    ' group by file_id, updated_at order by updated_at desc, file_id desc limit ?)';
  const inside =
    `(select id, updated_at, 2 as rnk from files force index (files_recent_idx) where ${live} and search_key like ? escape '!'` +
    ` and search_key not like ? escape '!' and search_key not like ? escape '!'${f.sql}${k2.sql} order by updated_at desc, id desc limit ?)`;
  const count = `(select count(*) as total_count from files force index (files_search_idx) where ${live} and search_key like ? escape '!'${f.sql})`;
  const sql =
    `select p.total_count, p.rnk, ${FILE_COLUMNS} from (` +
    `select u.id, u.updated_at, u.rnk, c.total_count from (${exact} union all ${wordStart} union all ${inside}) u cross join ${count} c` +
    ' order by u.rnk, u.updated_at desc, u.id desc limit ?) p' +
    ' join files f on f.id = p.id order by p.rnk, p.updated_at desc, p.id desc';
  const params = [
    ...[ownerId, key, ...f.params, ...k0.params, limit],
    ...[ownerId, ` ${like}%`, key, ...f.params, ...k1.params, limit],
    ...[ownerId, `%${like}%`, `${like}%`, `% ${like}%`, ...f.params, ...k2.params, limit],
    ...[ownerId, `%${like}%`, ...f.params],
    limit,
  ];
  return { sql, params };
}
