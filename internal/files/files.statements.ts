/**
 * The statements FilesRepository runs inside its transactions (each takes the transaction's
 * EntityManager): node inserts, subtree re-rooting, quota charges, blob reference counts.
 * Only files.repository.ts imports this file.
 */
import { raw, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import { BlobRow, FileRow, QuotaRow } from './files.entities.ts';
import { searchKey } from './search/search-key.ts';

/** A node to insert: what the caller decides; path, trash state and times are set here. */
export type NewNode = Omit<FileRow, 'id' | 'path' | 'createdAt' | 'updatedAt' | 'trashKey' | 'trashedAt' | 'trashedBy'> & { id?: string };
export type NewBlob = Omit<BlobRow, 'id' | 'createdAt' | 'refCount'>;

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException;
}

export function nameTaken(name: string, cause?: unknown): AppError {
  return new AppError('CONFLICT', `An item named "${name}" already exists in this folder`, {
    cause,
    details: { field: 'name', reason: 'name_taken' },
  });
}

/**
 * The root folder and the quota row of a person, both or neither (the caller's transaction).
 * The root's id is the person's id and the quota's key is the person's id, both primary keys,
 * and the inserts do nothing on a conflict: racing or repeated calls leave exactly one of each.
 */
export async function provisionRows(em: EntityManager, userId: string, limitBytes: number): Promise<void> {
  const now = new Date();
  await em
    .createQueryBuilder(FileRow)
    .insert({
      id: userId, ownerId: userId, parentId: null, name: '', nameKey: '', path: `/${userId}/`, isFolder: true, size: 0,
      blobId: null, contentHash: null, mimeType: null, trashKey: '', trashedAt: null, trashedBy: null, createdAt: now, updatedAt: now,
    })
    .onConflict('id')
    .ignore()
    .execute('run');
  await em.createQueryBuilder(QuotaRow).insert({ userId, limitBytes, usedBytes: 0 }).onConflict('userId').ignore().execute('run');
}

/** The row a new node gets: its id, search key, path under the parent, live, made `now`. */
function newNodeRow(row: NewNode, parentPath: string, now: Date): FileRow {
  const id = row.id ?? randomUUID();
  return Object.assign(new FileRow(), { ...row, id, searchKey: searchKey(row.name), path: `${parentPath}${id}/`, trashKey: '', trashedAt: null, trashedBy: null, createdAt: now, updatedAt: now });
}

export async function insertNode(em: EntityManager, row: NewNode, parentPath: string): Promise<FileRow> {
  const full = newNodeRow(row, parentPath, new Date());
  try {
    await em.insert(FileRow, full);
  } catch (error) {
    if (isUniqueViolation(error)) throw nameTaken(row.name, error);
    throw error;
  }
  return full;
}

/**
 * Several nodes of one folder in one INSERT (a batch of uploads). All or none: a name taken
 * meanwhile fails the statement (CONFLICT name_taken, naming no file: the batch's caller then
 * places its files one by one, each with its own answer).
 */
export async function insertNodes(em: EntityManager, rows: readonly NewNode[], parentPath: string): Promise<FileRow[]> {
  const now = new Date();
  const full = rows.map((row) => newNodeRow(row, parentPath, now));
  if (full.length === 0) return full;
  try {
    await em.insertMany(FileRow, full);
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    throw new AppError('CONFLICT', 'A name of the batch was taken meanwhile', { cause: error, details: { field: 'name', reason: 'name_taken' } });
  }
  return full;
}

/** Re-roots a subtree's materialised paths from `oldPath` to `newPath` in one statement. */
export async function rerootSubtree(em: EntityManager, ownerId: string, oldPath: string, newPath: string): Promise<void> {
  await em.execute(
    `update files set path = ${concat(em, '?', 'substr(path, ?)')} where owner_id = ? and path like ?`,
    [newPath, oldPath.length + 1, ownerId, `${oldPath}%`],
    'run',
  );
}

/**
 * Takes the file row's write lock for the rest of the transaction, so that transactions on one
 * file's dependent rows run one after the other. Without it, two that each delete then insert the
 * same missing row (a PROPPATCH) both take InnoDB's gap lock, then each waits on the other's
 * insert: a deadlock. SQLite needs none: its writers are serialized already.
 */
export async function lockFileRow(em: EntityManager, fileId: string): Promise<void> {
  if (isSqlite(em)) return;
  await em.execute('select id from files where id = ? for update', [fileId], 'all');
}

function isSqlite(em: EntityManager): boolean {
  return /sqlite/i.test(em.getPlatform().constructor.name);
}

/** String concatenation differs: MySQL has concat(), SQLite the || operator. */
function concat(em: EntityManager, a: string, b: string): string {
  return isSqlite(em) ? `(${a} || ${b})` : `concat(${a}, ${b})`;
}

/** Charges `bytes` to the person's quota, or QUOTA_EXCEEDED (the transaction then rolls back). */
export async function chargeOrThrow(em: EntityManager, userId: string, bytes: number, defaultLimit: number): Promise<void> {
  if (!(await charge(em, userId, bytes, defaultLimit))) {
    throw new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { needed: bytes } });
  }
}

/**
 * Charges `bytes` if it fits under the limit: one conditional UPDATE, so concurrent charges
 * cannot overshoot. No row is not "over quota" (a fresh account's first saveShare was refused
 * with 0 bytes used): the row is made in the one place and the charge tried again.
 */
async function charge(em: EntityManager, userId: string, bytes: number, defaultLimit: number): Promise<boolean> {
  if (bytes === 0) return true;
  if (await chargeRow(em, userId, bytes)) return true;
  if ((await em.count(QuotaRow, { userId })) > 0) return false;
  await provisionRows(em, userId, defaultLimit);
  return chargeRow(em, userId, bytes);
}

async function chargeRow(em: EntityManager, userId: string, bytes: number): Promise<boolean> {
  const result = await em.execute<{ affectedRows: number }>(
    'update quotas set used_bytes = used_bytes + ? where user_id = ? and used_bytes + ? <= limit_bytes',
    [bytes, userId, bytes],
    'run',
  );
  return result.affectedRows === 1;
}

/**
 * The charge of a commit whose folder was read before its transaction: `bytes` are charged only
 * while that folder is still the person's, live and at `parent.path` (a move re-roots the path, a
 * trash sets trashed_at on every row below), in the charge's own statement. True when charged
 * (nothing to charge: when the folder is as read); false when the folder changed (nothing
 * charged). A quota that does not fit still throws QUOTA_EXCEEDED, as chargeOrThrow does.
 */
export async function chargeUnderParent(em: EntityManager, userId: string, bytes: number, parent: { id: string; path: string }, defaultLimit: number): Promise<boolean> {
  const live = 'exists (select 1 from files where id = ? and owner_id = ? and path = ? and trashed_at is null)';
  if (bytes > 0) {
    const result = await em.execute<{ affectedRows: number }>(
      `update quotas set used_bytes = used_bytes + ? where user_id = ? and used_bytes + ? <= limit_bytes and ${live}`,
      [bytes, userId, bytes, parent.id, userId, parent.path],
      'run',
    );
    if (result.affectedRows === 1) return true;
  }
  // Not charged (or nothing to charge): which of the two it was decides the answer.
  if ((await em.count(FileRow, { id: parent.id, ownerId: userId, path: parent.path, trashedAt: null })) === 0) return false;
  await chargeOrThrow(em, userId, bytes, defaultLimit);
  return true;
}

export async function release(em: EntityManager, userId: string, bytes: number): Promise<void> {
  if (bytes === 0) return;
  await em.execute('update quotas set used_bytes = case when used_bytes >= ? then used_bytes - ? else 0 end where user_id = ?', [bytes, bytes, userId], 'run');
}

/** Adds a reference to the blob of that content if one is alive; null when there is none. */
export async function refExistingBlob(em: EntityManager, contentHash: string, size: number): Promise<BlobRow | null> {
  const blob = await em.findOne(BlobRow, { contentHash, size });
  if (!blob) return null;
  return (await refBlobById(em, blob.id)) ? blob : null;
}

/** One more reference to a live blob; false when it is gone (its last file was purged). */
export async function refBlobById(em: EntityManager, blobId: string): Promise<boolean> {
  return (await em.nativeUpdate(BlobRow, { id: blobId, refCount: { $gt: 0 } }, { refCount: raw('ref_count + 1') as never })) === 1;
}

/**
 * Records the blob of new content, or shares the one a concurrent commit of the same content
 * recorded after this transaction looked (blobs_content_unique): one upsert, which takes the row's
 * exclusive lock at once. A plain insert would fail the second commit, and catching that and then
 * updating deadlocks on MariaDB ("If a duplicate-key error occurs, a shared lock on the duplicate
 * index record is set … can result in deadlock", InnoDB locks set by statements). The returned row
 * is the one recorded: its storageKey is not `blob`'s when the content was shared.
 */
export async function insertBlob(em: EntityManager, blob: NewBlob): Promise<BlobRow> {
  const [recorded] = await insertBlobs(em, [blob]);
  if (!recorded) throw new Error(`blob ${blob.contentHash}/${blob.size} not recorded`);
  return recorded;
}

/**
 * insertBlob for several blobs in one upsert (a batch of uploads); the recorded rows in the order
 * given. MySQL/MariaDB: "the affected-rows value per row is 1 if the row is inserted as a new row,
 * 2 if an existing row is updated" (INSERT ... ON DUPLICATE KEY UPDATE), so a sum equal to the
 * number of rows means every row is ours; otherwise (a shared blob, the same content twice in the
 * batch, or SQLite, which counts 1 either way) the recorded rows are read back in one statement.
 */
export async function insertBlobs(em: EntityManager, blobs: readonly NewBlob[]): Promise<BlobRow[]> {
  if (blobs.length === 0) return [];
  const rows = blobs.map((blob): BlobRow => Object.assign(new BlobRow(), { ...blob, id: randomUUID(), refCount: 1, createdAt: new Date() }));
  const result = await em.createQueryBuilder(BlobRow).insert(rows).onConflict(['contentHash', 'size']).merge({ refCount: raw('ref_count + 1') }).execute('run');
  if (result.affectedRows === rows.length && !isSqlite(em)) return rows;
  const recorded = await em.find(BlobRow, { contentHash: { $in: [...new Set(blobs.map((b) => b.contentHash))] } }, { refresh: true });
  const byKey = new Map(recorded.map((r) => [`${r.contentHash}/${r.size}`, r]));
  return blobs.map((blob) => {
    const row = byKey.get(`${blob.contentHash}/${blob.size}`);
    if (!row) throw new Error(`blob ${blob.contentHash}/${blob.size} not found after its upsert`);
    return row;
  });
}

/** Drops one reference; returns the blob when that was the last one (its row is then deleted). */
export async function unrefBlob(em: EntityManager, blobId: string): Promise<BlobRow | null> {
  await em.nativeUpdate(BlobRow, { id: blobId, refCount: { $gt: 0 } }, { refCount: raw('ref_count - 1') as never });
  const blob = await em.findOne(BlobRow, { id: blobId, refCount: 0 });
  if (!blob) return null;
  const deleted = await em.nativeDelete(BlobRow, { id: blobId, refCount: 0 });
  return deleted === 1 ? blob : null;
}
