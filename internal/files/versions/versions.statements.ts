/**
 * The statements of versions that run inside a caller's transaction (the files repository's
 * content replace and purge, the versions repository's restore and delete): a version kept,
 * retention applied, a file's versions dropped. Each keeps the blob reference counts and tells the
 * caller the bytes of quota to give back and the blobs no row uses any more (their bytes are the
 * caller's to delete after the commit).
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import { randomUUID } from 'node:crypto';
import type { BlobRow } from '../files.entities.ts';
import { unrefBlob } from '../files.statements.ts';
import { FileVersionRow } from './versions.entities.ts';

/** VERSIONS_KEEP and VERSIONS_MAX_AGE_DAYS (0: no age limit). */
export interface VersionRetention {
  keep: number;
  maxAgeDays: number;
}

export const DEFAULT_RETENTION: VersionRetention = { keep: 10, maxAgeDays: 0 };

/** What dropping versions gave back: bytes of quota (the caller releases them) and blobs now unused. */
export interface Dropped {
  bytes: number;
  freed: BlobRow[];
}

const DAY_MS = 86_400_000;

/**
 * Keeps a file's current content as its newest version: the version row takes over the file row's
 * reference to the blob (no refCount change, no bytes copied) and the size stays charged. Then
 * retention runs in the same transaction. The caller then points the file at its new content.
 */
export async function keepVersion(
  em: EntityManager,
  file: { id: string; ownerId: string; blobId: string; size: number; contentHash: string; mimeType: string | null; updatedAt: Date },
  retention: VersionRetention,
  now: Date,
): Promise<Dropped> {
  const last = await em.findOne(FileVersionRow, { fileId: file.id }, { orderBy: { seq: 'desc' }, fields: ['seq'] });
  await em.insert(FileVersionRow, Object.assign(new FileVersionRow(), {
    id: randomUUID(), fileId: file.id, ownerId: file.ownerId, seq: (last?.seq ?? 0) + 1, blobId: file.blobId, size: Number(file.size),
    contentHash: file.contentHash, mimeType: file.mimeType, createdAt: file.updatedAt,
  }));
  return prune(em, file.id, retention, now);
}

/** Retention for one file: versions beyond the newest `keep`, and those older than the age limit, go. */
export async function prune(em: EntityManager, fileId: string, retention: VersionRetention, now: Date): Promise<Dropped> {
  const rows = await em.find(FileVersionRow, { fileId }, { orderBy: { seq: 'desc' } });
  const cutoff = retention.maxAgeDays > 0 ? now.getTime() - retention.maxAgeDays * DAY_MS : -Infinity;
  return drop(em, rows.filter((row, index) => index >= retention.keep || row.createdAt.getTime() < cutoff));
}

/** Every version of these files (a purge): rows deleted, references dropped. */
export async function dropVersionsOf(em: EntityManager, fileIds: readonly string[]): Promise<Dropped> {
  if (fileIds.length === 0) return { bytes: 0, freed: [] };
  const dropped: Dropped = { bytes: 0, freed: [] };
  // In slices: an IN list of a whole purged tree could exceed the database's parameter limit.
  for (let i = 0; i < fileIds.length; i += 500) {
    const part = await drop(em, await em.find(FileVersionRow, { fileId: { $in: fileIds.slice(i, i + 500) } }));
    dropped.bytes += part.bytes;
    dropped.freed.push(...part.freed);
  }
  return dropped;
}

/** Deletes version rows and their blob references; the caller releases `bytes` from the owner's quota. */
export async function drop(em: EntityManager, rows: readonly FileVersionRow[]): Promise<Dropped> {
  const dropped: Dropped = { bytes: 0, freed: [] };
  for (const row of rows) {
    if ((await em.nativeDelete(FileVersionRow, { id: row.id })) !== 1) continue;
    dropped.bytes += Number(row.size);
    const orphan = await unrefBlob(em, row.blobId);
    if (orphan) dropped.freed.push(orphan);
  }
  return dropped;
}
