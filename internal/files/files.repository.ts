/** The only code of the files service that touches the database. */
import { DeadlockException, LockWaitTimeoutException, UniqueConstraintViolationException, raw, type FilterQuery } from '@mikro-orm/core';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { Orm } from '../platform/db/orm.ts';
import { BlobRow, FileRow, QuotaRow } from './files.entities.ts';

export type OrderField = 'NAME' | 'SIZE' | 'CREATED_AT' | 'UPDATED_AT';
export type Direction = 'ASC' | 'DESC';

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

const columnOf = (field: OrderField) => {
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

function decodeCursor(after: string, field: OrderField): { f: boolean; v: string | number | Date; id: string } {
  try {
    const c = JSON.parse(Buffer.from(after, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.f !== 'boolean' || typeof c.id !== 'string' || (typeof c.v !== 'string' && typeof c.v !== 'number')) throw new Error('shape');
    const v = field === 'CREATED_AT' || field === 'UPDATED_AT' ? new Date(String(c.v)) : c.v;
    return { f: c.f, v, id: c.id };
  } catch (error) {
    throw new AppError('BAD_INPUT', 'Invalid cursor', { cause: error, details: { field: 'after', reason: 'invalid_cursor' } });
  }
}

export function isUniqueViolation(error: unknown): boolean {
  return error instanceof UniqueConstraintViolationException;
}

export class FilesRepository {
  constructor(
    private readonly orm: Orm,
    /** The limit of a new person's quota row (DEFAULT_QUOTA_BYTES). */
    private readonly defaultQuotaBytes: number,
  ) {}

  em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /**
   * A transaction, retried when the database picked it as a deadlock victim: concurrent purges or
   * commits of one person meet on the quota row and the blob rows, and InnoDB breaks such cycles
   * by aborting one side ("try restarting transaction").
   */
  async transactional<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.em().transactional((em) => fn(em));
      } catch (error) {
        const retryable = error instanceof DeadlockException || error instanceof LockWaitTimeoutException;
        if (!retryable || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 10 * attempt + Math.random() * 20));
      }
    }
  }

  /**
   * THE one place a person's drive rows are created: the root folder and the quota row.
   * Registration calls it (accounts → files `provisionDrive`); `root`, `quota` and `charge` below
   * call it only to repair an account that somehow lacks them, and the migration
   * `*_drive_rows` backfilled the accounts made before. Idempotent, so a retried registration or
   * two racing callers leave exactly one of each: the root's id is the person's id and the quota's
   * key is the person's id, both primary keys, and the inserts do nothing on a conflict.
   * Runs in the caller's transaction when given one, else in its own (both rows or neither).
   */
  async provisionDrive(userId: string, em?: EntityManager): Promise<void> {
    if (!em) return this.transactional((tx) => this.provisionDrive(userId, tx));
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
    await em.createQueryBuilder(QuotaRow).insert({ userId, limitBytes: this.defaultQuotaBytes, usedBytes: 0 }).onConflict('userId').ignore().execute('run');
  }

  /** The person's root folder (id = user id). */
  async root(ownerId: string): Promise<FileRow> {
    const found = await this.em().findOne(FileRow, { id: ownerId, ownerId });
    if (found) return found;
    await this.provisionDrive(ownerId);
    return this.em().findOneOrFail(FileRow, { id: ownerId, ownerId });
  }

  findLive(ownerId: string, id: string): Promise<FileRow | null> {
    return this.em().findOne(FileRow, { id, ownerId, trashKey: '', trashedAt: null });
  }

  findAny(ownerId: string, id: string): Promise<FileRow | null> {
    return this.em().findOne(FileRow, { id, ownerId });
  }

  findLiveByIds(ownerId: string, ids: readonly string[]): Promise<FileRow[]> {
    return this.em().find(FileRow, { id: { $in: [...ids] }, ownerId, trashedAt: null });
  }

  findLiveChild(ownerId: string, parentId: string, key: string): Promise<FileRow | null> {
    return this.em().findOne(FileRow, { ownerId, parentId, nameKey: key, trashKey: '' });
  }

  async children(ownerId: string, parentId: string, page: Page): Promise<{ rows: FileRow[]; hasNextPage: boolean }> {
    const column = columnOf(page.orderBy.field);
    const op = page.orderBy.direction === 'ASC' ? '$gt' : '$lt';
    const where: FilterQuery<FileRow> = { ownerId, parentId, trashKey: '' };
    if (page.after) {
      const c = decodeCursor(page.after, page.orderBy.field);
      const or: FilterQuery<FileRow>[] = [
        { isFolder: c.f, [column]: { [op]: c.v } },
        { isFolder: c.f, [column]: c.v, id: { [op]: c.id } },
      ];
      // Folders come first whatever the order: after the last folder come the files.
      if (c.f) or.unshift({ isFolder: false });
      Object.assign(where, { $or: or });
    }
    const dir = page.orderBy.direction === 'ASC' ? 'asc' : 'desc';
    const rows = await this.em().find(FileRow, where, {
      orderBy: [{ isFolder: 'desc' }, { [column]: dir }, { id: dir }],
      limit: page.first + 1,
    });
    return { rows: rows.slice(0, page.first), hasNextPage: rows.length > page.first };
  }

  countChildren(ownerId: string, parentId: string): Promise<number> {
    return this.em().count(FileRow, { ownerId, parentId, trashKey: '' });
  }

  listTrash(ownerId: string): Promise<FileRow[]> {
    // Only the roots of deletions: what the person deleted, not everything inside it.
    return this.em()
      .createQueryBuilder(FileRow)
      .where({ ownerId, trashedAt: { $ne: null } })
      .andWhere('trashed_by = id')
      .orderBy({ trashedAt: 'desc' })
      .limit(1000)
      .getResultList();
  }

  async insertNode(em: EntityManager, row: Omit<FileRow, 'id' | 'path' | 'createdAt' | 'updatedAt' | 'trashKey' | 'trashedAt' | 'trashedBy'> & { id?: string }, parentPath: string): Promise<FileRow> {
    const id = row.id ?? randomUUID();
    const now = new Date();
    const full: FileRow = Object.assign(new FileRow(), {
      ...row, id, path: `${parentPath}${id}/`, trashKey: '', trashedAt: null, trashedBy: null, createdAt: now, updatedAt: now,
    });
    try {
      await em.insert(FileRow, full);
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(row.name, error);
      throw error;
    }
    return full;
  }

  /** The person's quota row. */
  async quota(userId: string): Promise<QuotaRow> {
    const found = await this.em().findOne(QuotaRow, { userId });
    if (found) return found;
    await this.provisionDrive(userId);
    return this.em().findOneOrFail(QuotaRow, { userId });
  }

  /**
   * Charges `bytes` if it fits under the limit: one conditional UPDATE, so concurrent charges
   * cannot overshoot. No row is not "over quota" (a fresh account's first saveShare was refused
   * with 0 bytes used): the row is made in the one place and the charge tried again.
   */
  async charge(em: EntityManager, userId: string, bytes: number): Promise<boolean> {
    if (bytes === 0) return true;
    if (await this.chargeRow(em, userId, bytes)) return true;
    if ((await em.count(QuotaRow, { userId })) > 0) return false;
    await this.provisionDrive(userId, em);
    return this.chargeRow(em, userId, bytes);
  }

  private async chargeRow(em: EntityManager, userId: string, bytes: number): Promise<boolean> {
    const result = await em.execute<{ affectedRows: number }>(
      'update quotas set used_bytes = used_bytes + ? where user_id = ? and used_bytes + ? <= limit_bytes',
      [bytes, userId, bytes],
      'run',
    );
    return result.affectedRows === 1;
  }

  async release(em: EntityManager, userId: string, bytes: number): Promise<void> {
    if (bytes === 0) return;
    await em.execute('update quotas set used_bytes = case when used_bytes >= ? then used_bytes - ? else 0 end where user_id = ?', [bytes, bytes, userId], 'run');
  }

  /** Adds a reference to the blob of that content if one is alive; null when there is none. */
  async refExistingBlob(em: EntityManager, contentHash: string, size: number): Promise<BlobRow | null> {
    const blob = await em.findOne(BlobRow, { contentHash, size });
    if (!blob) return null;
    const changed = await em.nativeUpdate(BlobRow, { id: blob.id, refCount: { $gt: 0 } }, { refCount: raw('ref_count + 1') as never });
    return changed === 1 ? blob : null;
  }

  /** One more reference to a live blob; false when it is gone (its last file was purged). */
  async refBlobById(em: EntityManager, blobId: string): Promise<boolean> {
    return (await em.nativeUpdate(BlobRow, { id: blobId, refCount: { $gt: 0 } }, { refCount: raw('ref_count + 1') as never })) === 1;
  }

  findBlob(contentHash: string, size: number): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { contentHash, size, refCount: { $gt: 0 } });
  }

  findBlobById(id: string): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { id });
  }

  async insertBlob(em: EntityManager, blob: Omit<BlobRow, 'id' | 'createdAt' | 'refCount'>): Promise<BlobRow> {
    const row: BlobRow = Object.assign(new BlobRow(), { ...blob, id: randomUUID(), refCount: 1, createdAt: new Date() });
    await em.insert(BlobRow, row);
    return row;
  }

  /** Drops one reference; returns the blob when that was the last one (its row is then deleted). */
  async unrefBlob(em: EntityManager, blobId: string): Promise<BlobRow | null> {
    await em.nativeUpdate(BlobRow, { id: blobId, refCount: { $gt: 0 } }, { refCount: raw('ref_count - 1') as never });
    const blob = await em.findOne(BlobRow, { id: blobId, refCount: 0 });
    if (!blob) return null;
    const deleted = await em.nativeDelete(BlobRow, { id: blobId, refCount: 0 });
    return deleted === 1 ? blob : null;
  }
}

export function nameTaken(name: string, cause?: unknown): AppError {
  return new AppError('CONFLICT', `An item named "${name}" already exists in this folder`, {
    cause,
    details: { field: 'name', reason: 'name_taken' },
  });
}
