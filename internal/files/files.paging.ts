/**
 * Keyset paging of a folder's children: folders first, then the chosen order, ties broken by id.
 * A cursor carries the last row's folder flag, sort value and id (base64url JSON); it is opaque
 * to clients and checked on the way in (BAD_INPUT invalid_cursor).
 */
import { AppError } from '../platform/errors.ts';
import type { FileRow } from './files.entities.ts';

/**
 * The sort orders of a folder's children, written once: the router's zod enums are built from
 * them, and api/graphql/mappers.ts asserts the router input equals the schema's FileOrder.
 */
export const ORDER_FIELDS = ['NAME', 'SIZE', 'CREATED_AT', 'UPDATED_AT'] as const;
export const DIRECTIONS = ['ASC', 'DESC'] as const;
export type OrderField = (typeof ORDER_FIELDS)[number];
export type Direction = (typeof DIRECTIONS)[number];

export interface Page {
  first: number;
  after?: string;
  orderBy: { field: OrderField; direction: Direction };
}

interface Cursor {
  f: boolean;
  v: string | number;
  id: string;
}

export const columnOf = (field: OrderField) => {
  switch (field) {
    case 'NAME':
      return 'nameKey' as const;
    case 'SIZE':
      return 'size' as const;
    case 'CREATED_AT':
      return 'createdAt' as const;
    case 'UPDATED_AT':
      return 'updatedAt' as const;
  }
};

export function encodeCursor(row: FileRow, field: OrderField): string {
  const value = row[columnOf(field)];
  const cursor: Cursor = { f: row.isFolder, v: value instanceof Date ? value.toISOString() : value, id: row.id };
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(after: string, field: OrderField): { f: boolean; v: string | number | Date; id: string } {
  try {
    const c = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.f !== 'boolean' || typeof c.id !== 'string' || (typeof c.v !== 'string' && typeof c.v !== 'number')) throw new Error('shape');
    const v = field === 'CREATED_AT' || field === 'UPDATED_AT' ? new Date(String(c.v)) : c.v;
    return { f: c.f, v, id: c.id };
  } catch (error) {
    throw new AppError('BAD_INPUT', 'Invalid cursor', { cause: error, details: { field: 'after', reason: 'invalid_cursor' } });
  }
}

/** The files table's column of each order (the raw listing below speaks SQL, not properties). */
const SQL_COLUMN: Record<OrderField, string> = { NAME: 'name_key', SIZE: 'size', CREATED_AT: 'created_at', UPDATED_AT: 'updated_at' };

/** Every column of a FileRow, for the raw listing (mapped back to a FileRow by the ORM's result mapper). */
const FILE_COLUMNS = 'id, owner_id, parent_id, name, name_key, path, is_folder, size, blob_id, content_hash, mime_type, trash_key, trashed_at, trashed_by, created_at, updated_at';

/**
 * One page of a folder's live children as ONE statement, the same rows and order the ORM query
 * built before (folders first, then the order, ties by id; keyset after the cursor), with the
 * folder's total as an uncorrelated subquery (evaluated once), when asked for. Plain SQL both
 * dialects speak; booleans as 1/0 (MariaDB tinyint, SQLite integer); a date cursor value goes
 * through `dateParam` (the platform's own conversion: a Date for MariaDB, epoch ms for SQLite).
 */
export function childrenStatement(ownerId: string, parentId: string, page: Page, count: boolean, dateParam: (d: Date) => unknown): { sql: string; params: unknown[] } {
  const column = SQL_COLUMN[page.orderBy.field];
  const dir = page.orderBy.direction === 'ASC' ? 'asc' : 'desc';
  const op = dir === 'asc' ? '>' : '<';
  const params: unknown[] = count ? [ownerId, parentId] : [];
  params.push(ownerId, parentId);
  let keyset = '';
  if (page.after) {
    const c = decodeCursor(page.after, page.orderBy.field);
    const f = c.f ? 1 : 0;
    const v = c.v instanceof Date ? dateParam(c.v) : c.v;
    // Folders come first whatever the order: after the last folder come the files.
    keyset = ` and (${c.f ? 'is_folder = 0 or ' : ''}(is_folder = ? and ${column} ${op} ?) or (is_folder = ? and ${column} = ? and id ${op} ?))`;
    params.push(f, v, f, v, c.id);
  }
  params.push(page.first + 1);
  const total = count ? ", (select count(*) from files where owner_id = ? and parent_id = ? and trash_key = '') as total_count" : '';
  const sql = `select ${FILE_COLUMNS}${total} from files where owner_id = ? and parent_id = ? and trash_key = ''${keyset} order by is_folder desc, ${column} ${dir}, id ${dir} limit ?`;
  return { sql, params };
}
