/**
 * Database model of files: file/folder nodes, content-addressed blobs and per-user quotas.
 *
 * - A person's root folder is a node whose id is the person's id (created on first use), so every
 *   other node has a parent and "unique name per folder" is one unique index.
 * - `path` is the materialised chain of ancestor ids ending with the node's own (`/root/a/b/`):
 *   moving checks cycles and trash/restore/purge address a subtree with one `LIKE 'prefix%'`.
 * - `trashKey` is '' for live nodes and the node's id once trashed, so the unique index
 *   (owner, parent, nameKey, trashKey) lets a trashed "a.txt" sit beside a live one.
 * - A blob is a stored byte sequence identified by (contentHash, size); files reference it and
 *   `refCount` says how many do. Its bytes are deleted when the count reaches zero.
 */
import { EntitySchema } from '@mikro-orm/core';
import { FilePropertySchema } from './file-properties.entities.ts';
import { ShareSchema } from './shares.entities.ts';

export class FileRow {
  id!: string;
  ownerId!: string;
  parentId!: string | null;
  name!: string;
  nameKey!: string;
  /** The name folded for search (search/search-key.ts), written wherever the name is. */
  searchKey?: string;
  path!: string;
  isFolder!: boolean;
  size!: number;
  blobId!: string | null;
  contentHash!: string | null;
  mimeType!: string | null;
  trashKey!: string;
  trashedAt!: Date | null;
  /** The node whose deletion trashed this one (itself, or a folder above it). */
  trashedBy!: string | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export const FileSchema = new EntitySchema<FileRow>({
  class: FileRow,
  tableName: 'files',
  indexes: [
    { name: 'files_children_idx', properties: ['ownerId', 'parentId', 'trashKey', 'isFolder', 'nameKey'] },
    { name: 'files_trashed_by_idx', properties: ['trashedBy'] },
    { name: 'files_blob_idx', properties: ['blobId'] },
    // Search counts one- and two-letter queries over this index alone, and finds exact keys by it
    // (search/search.grams.ts; SQLite: search.statements.ts).
    { name: 'files_search_idx', properties: ['ownerId', 'trashKey', 'searchKey', 'updatedAt'] },
    // One- and two-letter searches read a person's newest live keys first and stop at a page
    // (search/search.grams.ts); the id is named so ORDER BY updated_at, id needs no sort.
    { name: 'files_recent_idx', properties: ['ownerId', 'trashKey', 'updatedAt', 'id', 'searchKey'] },
  ],
  uniques: [{ name: 'files_name_unique', properties: ['ownerId', 'parentId', 'nameKey', 'trashKey'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    ownerId: { type: 'string', length: 36 },
    parentId: { type: 'string', length: 36, nullable: true },
    name: { type: 'string', length: 255 },
    nameKey: { type: 'string', length: 255 },
    // The column's default ('', migration *_search_keys) fills rows written without a key (a
    // person's root). Not declared here: on SQLite the ORM would then read it back (`returning`)
    // on every insert, which also fails on a schema before that migration (the migration tests).
    searchKey: { type: 'string', length: 255, ignoreSchemaChanges: ['default'] },
    path: { type: 'text' },
    isFolder: { type: 'boolean' },
    size: { type: 'bigint', runtimeType: 'number', default: 0 } as never,
    blobId: { type: 'string', length: 36, nullable: true },
    contentHash: { type: 'string', length: 64, nullable: true },
    mimeType: { type: 'string', length: 255, nullable: true },
    trashKey: { type: 'string', length: 36, default: '' },
    trashedAt: { type: 'datetime', length: 3, nullable: true },
    trashedBy: { type: 'string', length: 36, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
  },
});

export class BlobRow {
  id!: string;
  contentHash!: string;
  size!: number;
  backend!: string;
  storageKey!: string;
  refCount!: number;
  createdAt!: Date;
}

export const BlobSchema = new EntitySchema<BlobRow>({
  class: BlobRow,
  tableName: 'blobs',
  uniques: [{ name: 'blobs_content_unique', properties: ['contentHash', 'size'] }],
  indexes: [{ name: 'blobs_backend_idx', properties: ['backend'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    contentHash: { type: 'string', length: 64 },
    size: { type: 'bigint', runtimeType: 'number' } as never,
    backend: { type: 'string', length: 63 },
    storageKey: { type: 'string', length: 512 },
    refCount: { type: 'integer', default: 0 },
    createdAt: { type: 'datetime', length: 3 },
  },
});

export class QuotaRow {
  userId!: string;
  limitBytes!: number;
  usedBytes!: number;
}

export const QuotaSchema = new EntitySchema<QuotaRow>({
  class: QuotaRow,
  tableName: 'quotas',
  properties: {
    userId: { type: 'string', primary: true, length: 36 },
    limitBytes: { type: 'bigint', runtimeType: 'number' } as never,
    usedBytes: { type: 'bigint', runtimeType: 'number', default: 0 } as never,
  },
});

export const filesEntities = [FileSchema, BlobSchema, QuotaSchema, ShareSchema, FilePropertySchema];
