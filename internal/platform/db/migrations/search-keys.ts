/**
 * Data migration shared by both dialects (`*_search_keys`): every existing row gets the search key
 * of its name (internal/files/search/search-key.ts), a page of rows per statement.
 */
import { searchKey } from '../../../files/search/search-key.ts';

type Execute = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

const PAGE = 500;

export async function backfillSearchKeys(execute: Execute): Promise<void> {
  let after = '';
  for (;;) {
    const page = await execute('select `id`, `name` from `files` where `id` > ? order by `id` limit ?', [after, PAGE]);
    const rows = page.map((r) => ({ id: String(r.id), key: searchKey(String(r.name)) })).filter((r) => r.key !== '');
    if (rows.length > 0) {
      const cases = rows.map(() => 'when ? then ?').join(' ');
      await execute(`update \`files\` set \`search_key\` = case \`id\` ${cases} end where \`id\` in (${rows.map(() => '?').join(', ')})`, [
        ...rows.flatMap((r) => [r.id, r.key]),
        ...rows.map((r) => r.id),
      ]);
    }
    const last = page[page.length - 1];
    if (!last || page.length < PAGE) break;
    after = String(last.id);
  }
}
