/**
 * Older contents of a file (issue 22). A version row is the file's previous content: it references
 * that content's blob (one of the blob's refCount, like a file row: no bytes are copied and the
 * same content is stored once), and its size stays charged to the owner's quota until the version
 * is pruned, deleted, restored (then the file's row takes the reference over) or purged with its file.
 *
 * - `seq` orders a file's versions (newest = highest) without relying on clock resolution.
 * - `createdAt` is when that content was written (the file's updatedAt while it was current).
 * - Versions follow their file through trash and restore (they are keyed by the file id, which
 *   trash keeps) and go with it on purge (files.repository.ts purge).
 */
import { EntitySchema } from '@mikro-orm/core';

export class FileVersionRow {
  id!: string;
  fileId!: string;
  ownerId!: string;
  seq!: number;
  blobId!: string;
  size!: number;
  contentHash!: string;
  mimeType!: string | null;
  createdAt!: Date;
}

export const FileVersionSchema = new EntitySchema<FileVersionRow>({
  class: FileVersionRow,
  tableName: 'file_versions',
  indexes: [
    { name: 'file_versions_blob_idx', properties: ['blobId'] },
    { name: 'file_versions_created_idx', properties: ['createdAt'] },
  ],
  uniques: [{ name: 'file_versions_seq_unique', properties: ['fileId', 'seq'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    fileId: { type: 'string', length: 36 },
    ownerId: { type: 'string', length: 36 },
    seq: { type: 'integer' },
    blobId: { type: 'string', length: 36 },
    size: { type: 'bigint', runtimeType: 'number' } as never,
    contentHash: { type: 'string', length: 64 },
    mimeType: { type: 'string', length: 255, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
  },
});

export const versionEntities = [FileVersionSchema];
