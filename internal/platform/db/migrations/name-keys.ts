/**
 * Data migration shared by both dialects (`*_name_keys`): file names are now unique per folder by
 * full Unicode case folding (internal/files/names.ts), so every existing `name_key` is recomputed.
 * Two rows that were distinct under the old key (NFC lower-cased) can now clash ("Straße" beside
 * "STRASSE"); the unique index `files_name_unique` would make the migration fail, so instead:
 * - a row whose key does not change keeps its name;
 * - the re-keyed rows go oldest first (created_at, then id), and one whose new key is taken in its
 *   folder (same owner, parent and trash_key) is renamed to the first free "name (n)", the same
 *   numbering `restoreFile` uses. Nothing is deleted and no content moves.
 * Names the old rules let in (C1 controls) are kept as they are: the rules apply to new names.
 */
import { nameKey, numberedName, MAX_NAME_BYTES } from '../../../files/names.ts';

type Execute = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
interface Row { id: string; name: string; ownerId: string; parentId: string; trashKey: string; createdAt: number }

const PAGE = 1000;

export async function rekeyFileNames(execute: Execute): Promise<void> {
  const changed: Row[] = [];
  let after = '';
  for (;;) {
    const page = await execute(
      'select `id`, `name`, `name_key`, `owner_id`, `parent_id`, `trash_key`, `created_at` from `files` where `parent_id` is not null and `id` > ? order by `id` limit ?',
      [after, PAGE],
    );
    for (const r of page) {
      const row: Row = { id: String(r.id), name: String(r.name), ownerId: String(r.owner_id), parentId: String(r.parent_id), trashKey: String(r.trash_key), createdAt: new Date(r.created_at as string | number | Date).getTime() };
      if (nameKey(row.name) !== String(r.name_key)) changed.push(row);
      after = row.id;
    }
    if (page.length < PAGE) break;
  }
  // Phase 1: every row to re-key gives up its old key (a control character never in a real key),
  // so no old key blocks a new one and the unique index holds after every statement.
  for (const row of changed) await execute('update `files` set `name_key` = ? where `id` = ?', [`\u0001${row.id}`, row.id]);
  changed.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const row of changed) {
    for (let n = 0; ; n++) {
      const name = n === 0 ? row.name : numbered(row.name, n);
      const key = nameKey(name);
      const taken = await execute(
        'select `id` from `files` where `owner_id` = ? and `parent_id` = ? and `trash_key` = ? and `name_key` = ? limit 1',
        [row.ownerId, row.parentId, row.trashKey, key],
      );
      if (taken.length > 0) continue;
      await execute('update `files` set `name` = ?, `name_key` = ? where `id` = ?', [name, key, row.id]);
      break;
    }
  }
}

/** "name (n)", shortening the stem when the result would pass the byte limit. */
function numbered(name: string, n: number): string {
  let base = name;
  let result = numberedName(base, n);
  while (Buffer.byteLength(result, 'utf8') > MAX_NAME_BYTES && base.length > 1) {
    const chars = [...base];
    const dot = base.lastIndexOf('.');
    // Drop the last character of the stem (before the extension, when there is one).
    const cut = dot > 0 ? [...base.slice(0, dot)].length - 1 : chars.length - 1;
    chars.splice(Math.max(cut, 0), 1);
    base = chars.join('');
    result = numberedName(base, n);
  }
  return result;
}
