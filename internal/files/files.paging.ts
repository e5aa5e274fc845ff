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
