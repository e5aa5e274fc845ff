/**
 * The only code of the files service that touches the database. Every statement and every
 * transaction is here (the dialect differences too); the services decide, this carries it out.
 * The statements that run inside a caller's transaction are in files.statements.ts.
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import type { Orm } from '../platform/db/orm.ts';
import { retryingTransaction } from '../platform/db/retrying-transaction.ts';
import { readStatement } from '../platform/db/read-statement.ts';
import { AppError } from '../platform/errors.ts';
import { recordEvent, type ActivityInput } from '../activity/index.ts';
import { deleteProperties } from './file-properties.repository.ts';
import { BlobRow, FileRow, QuotaRow } from './files.entities.ts';
import { childrenStatement, type Page } from './files.paging.ts';
import {
  chargeOrThrow, chargeUnderParent, insertBlob, insertNode, isUniqueViolation, nameTaken, provisionRows, refBlobById, refExistingBlob, release, rerootSubtree, unrefBlob,
  type NewBlob, type NewNode,
} from './files.statements.ts';
import { searchKey } from './search/search-key.ts';
import { DEFAULT_RETENTION, dropVersionsOf, keepVersion, type VersionRetention } from './versions/versions.statements.ts';

export { nameTaken, type NewBlob, type NewNode } from './files.statements.ts';

/** Rolls back a guarded commit whose folder moved or went (commitFile answers null). */
class ParentMoved extends Error {}

export class FilesRepository {
  constructor(
    private readonly orm: Orm,
    /** The limit of a new person's quota row (DEFAULT_QUOTA_BYTES). */
    private readonly defaultQuotaBytes: number,
    /** VERSIONS_KEEP / VERSIONS_MAX_AGE_DAYS: applied whenever a file's content is replaced. */
    private readonly retention: VersionRetention = DEFAULT_RETENTION,
  ) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** A transaction retried when it is a deadlock victim (platform/db/retrying-transaction.ts). */
  private transactional<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return retryingTransaction(() => this.em(), fn);
  }

  /**
   * THE one place a person's drive rows are created: the root folder and the quota row.
   * Registration calls it (accounts → files `provisionDrive`); `root`, `quota` and a charge
   * call it only to repair an account that somehow lacks them, and the migration
   * `*_drive_rows` backfilled the accounts made before. Idempotent, so a retried registration or
   * two racing callers leave exactly one of each (files.statements.ts `provisionRows`).
   */
  async provisionDrive(userId: string): Promise<void> {
    await this.transactional((tx) => provisionRows(tx, userId, this.defaultQuotaBytes));
  }

  /** The person's root folder (id = user id). */
  async root(ownerId: string): Promise<FileRow> {
    const found = await this.findAny(ownerId, ownerId);
    if (found) return found;
    await this.provisionDrive(ownerId);
    return this.em().findOneOrFail(FileRow, { id: ownerId, ownerId });
  }

  findLive(ownerId: string, id: string): Promise<FileRow | null> {
    return this.readRow("select * from files where id = ? and owner_id = ? and trash_key = '' and trashed_at is null", [id, ownerId]);
  }

  findAny(ownerId: string, id: string): Promise<FileRow | null> {
    return this.readRow('select * from files where id = ? and owner_id = ?', [id, ownerId]);
  }

  /**
   * One row by primary key, mapped as `children` maps its rows (no entity, no identity map): the
   * node read in front of nearly every request (a listing's folder, `file(id)`, a download) cost
   * more CPU through `em.findOne`'s query builder and hydration than its SQL (issue 21 profile).
   * Callers only read the row, or write it back through statements of their own.
   */
  private async readRow(sql: string, params: unknown[]): Promise<FileRow | null> {
    const em = this.em();
    const [raw] = await readStatement(em, sql, params);
    return raw ? (em.getDriver().mapResult(raw, em.getMetadata().get(FileRow.name)) as unknown as FileRow) : null;
  }

  findLiveByIds(ownerId: string, ids: readonly string[]): Promise<FileRow[]> {
    return this.em().find(FileRow, { id: { $in: [...ids] }, ownerId, trashedAt: null });
  }

  /**
   * A one-request upload's pre-checks in one statement: the live folder's path (or a file's), whether
   * a live item holds the name key in it, and the quota. Null when any row is missing (unknown,
   * another person's or trashed folder; an account without its rows): the caller then takes the
   * usual reads, which answer or repair exactly as before. On the primary on purpose (em.execute):
   * a write follows at once and a lagging replica would miss a name taken a moment ago.
   */
  async uploadTarget(ownerId: string, folderId: string, key: string): Promise<{ path: string; isFolder: boolean; taken: boolean; used: number; limit: number } | null> {
    const rows = await this.em().execute<{ path: string; is_folder: unknown; taken: unknown; used_bytes: unknown; limit_bytes: unknown }[]>(
      `select f.path, f.is_folder, q.used_bytes, q.limit_bytes,
        (select count(*) from files c where c.owner_id = f.owner_id and c.parent_id = f.id and c.name_key = ? and c.trash_key = '') as taken
       from files f join quotas q on q.user_id = f.owner_id
       where f.id = ? and f.owner_id = ? and f.trash_key = '' and f.trashed_at is null`,
      [key, folderId, ownerId],
      'all',
    );
    const row = rows[0];
    if (!row) return null;
    return { path: row.path, isFolder: Boolean(Number(row.is_folder)), taken: Number(row.taken) > 0, used: Number(row.used_bytes), limit: Number(row.limit_bytes) };
  }

  findLiveChild(ownerId: string, parentId: string, key: string): Promise<FileRow | null> {
    return this.em().findOne(FileRow, { ownerId, parentId, nameKey: key, trashKey: '' });
  }

  /**
   * A page of a folder's live children, and with `count` the folder's total, in one statement
   * without building entities: the rows go from the driver through the ORM's result mapper
   * (columns to properties, dates and numbers converted) straight to the caller, which only reads
   * them. A listing is most of an API's traffic; hydrating 51 entities into an identity map that
   * is thrown away cost more CPU than the SQL (issue 21 profile).
   */
  async children(ownerId: string, parentId: string, page: Page, opts: { count?: boolean } = {}): Promise<{ rows: FileRow[]; hasNextPage: boolean; totalCount?: number }> {
    const em = this.em();
    const platform = em.getPlatform();
    const { sql, params } = childrenStatement(ownerId, parentId, page, opts.count === true, (d) => platform.processDateProperty(d));
    const raw = await readStatement(em, sql, params);
    const meta = em.getMetadata().get(FileRow.name);
    const driver = em.getDriver();
    const rows = raw.slice(0, page.first).map((r) => driver.mapResult(r, meta) as unknown as FileRow);
    const first = raw[0];
    let totalCount: number | undefined;
    if (opts.count) totalCount = first ? Number(first.total_count) : page.after ? await this.countChildren(ownerId, parentId) : 0;
    return { rows, hasNextPage: raw.length > page.first, ...(totalCount === undefined ? {} : { totalCount }) };
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

  /** The paths of the folders in a subtree (the node's own included), for the depth check. */
  async folderPaths(ownerId: string, path: string): Promise<string[]> {
    const rows = await this.em().find(FileRow, { ownerId, path: { $like: `${path}%` }, isFolder: true }, { fields: ['path'] });
    return rows.map((r) => r.path);
  }

  /** The live rows of a subtree, at most `limit` (a tree copy refuses more than it can take). */
  liveSubtree(ownerId: string, path: string, limit: number): Promise<FileRow[]> {
    return this.em().find(FileRow, { ownerId, path: { $like: `${path}%` }, trashedAt: null }, { limit });
  }

  /** A new folder (or file without bytes) below `parentPath`; CONFLICT name_taken on a clash. */
  createNode(row: NewNode, parentPath: string): Promise<FileRow> {
    return this.transactional((tx) => insertNode(tx, row, parentPath));
  }

  /** Renames a node; CONFLICT name_taken when its folder has a live item of that name. */
  async rename(node: FileRow, name: string, nameKey: string, event?: ActivityInput): Promise<void> {
    try {
      await this.transactional(async (tx) => {
        await tx.nativeUpdate(FileRow, { id: node.id, ownerId: node.ownerId }, { name, nameKey, searchKey: searchKey(name), updatedAt: new Date() });
        if (event) await recordEvent(tx, event);
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(name, error);
      throw error;
    }
  }

  /**
   * Moves a node under `target` with its subtree (paths re-rooted in the same transaction), named
   * `rename` there when given (WebDAV MOVE names its destination); CONFLICT name_taken on a clash.
   */
  async move(node: FileRow, target: { id: string; path: string }, rename?: { name: string; nameKey: string }, event?: ActivityInput): Promise<string> {
    const newPath = `${target.path}${node.id}/`;
    await this.transactional(async (tx) => {
      try {
        await tx.nativeUpdate(FileRow, { id: node.id, ownerId: node.ownerId }, { parentId: target.id, ...rename, ...(rename ? { searchKey: searchKey(rename.name) } : {}), updatedAt: new Date() });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(rename?.name ?? node.name, error);
        throw error;
      }
      if (newPath !== node.path) await rerootSubtree(tx, node.ownerId, node.path, newPath);
      if (event) await recordEvent(tx, event);
    });
    return newPath;
  }

  /** Trashes a node and everything below, marked as trashed by it so restore brings back exactly that. */
  async trash(node: FileRow, now: Date, event?: ActivityInput): Promise<void> {
    await this.transactional(async (tx) => {
      await tx.execute(
        'update files set trashed_at = ?, trashed_by = ?, trash_key = id where owner_id = ? and path like ? and trashed_at is null',
        [now, node.id, node.ownerId, `${node.path}%`],
        'run',
      );
      if (event) await recordEvent(tx, event, now);
    });
  }

  /**
   * Brings back what the deletion of `node` trashed, the node itself named `name` in `parent`.
   * False when that name is taken there (nothing changed): the caller tries another name.
   */
  async restore(node: FileRow, parent: { id: string; path: string }, name: string, nameKey: string, event?: ActivityInput): Promise<boolean> {
    const newPath = `${parent.path}${node.id}/`;
    try {
      await this.transactional(async (tx) => {
        await tx.execute(
          'update files set trashed_at = null, trashed_by = null, trash_key = \'\' where owner_id = ? and trashed_by = ? and id <> ?',
          [node.ownerId, node.id, node.id],
          'run',
        );
        await tx.nativeUpdate(FileRow, { id: node.id }, { trashedAt: null, trashedBy: null, trashKey: '', parentId: parent.id, name, nameKey, searchKey: searchKey(name), updatedAt: new Date() });
        if (newPath !== node.path) await rerootSubtree(tx, node.ownerId, node.path, newPath);
        if (event) await recordEvent(tx, { ...event, file: { id: node.id, name } });
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /**
   * Deletes a subtree's rows for good and gives back its bytes of quota, in one transaction.
   * Returns the blobs whose last reference went (their rows are deleted; their bytes are the caller's).
   */
  purge(node: FileRow, event?: ActivityInput): Promise<BlobRow[]> {
    const subtree = { ownerId: node.ownerId, path: { $like: `${node.path}%` } };
    return this.transactional(async (tx) => {
      const rows = await tx.find(FileRow, subtree);
      const freed: BlobRow[] = [];
      let bytes = 0;
      for (const r of rows) {
        if (!r.blobId) continue;
        bytes += Number(r.size);
        const orphan = await unrefBlob(tx, r.blobId);
        if (orphan) freed.push(orphan);
      }
      // Purging a file takes its versions along: their references and quota go too.
      const versions = await dropVersionsOf(tx, rows.filter((r) => !r.isFolder).map((r) => r.id));
      freed.push(...versions.freed);
      await deleteProperties(tx, rows.map((r) => r.id));
      await tx.nativeDelete(FileRow, subtree);
      await release(tx, node.ownerId, bytes + versions.bytes);
      if (event) await recordEvent(tx, event);
      return freed;
    });
  }

  /**
   * Records stored bytes as a file in one transaction: charges the quota (QUOTA_EXCEEDED when it
   * does not fit), references the live blob of the same content or records `blob` as a new one,
   * and inserts the file row (CONFLICT name_taken on a clash). Returns the row and the blob used;
   * null only with `guardParent`, when the parent is no longer the live folder at `parentPath`.
   */
  commitFile(
    file: Omit<NewNode, 'isFolder' | 'blobId' | 'contentHash'> & { contentHash: string },
    parentPath: string,
    location: Pick<NewBlob, 'backend' | 'storageKey'>,
    options: { guardParent?: boolean; event?: ActivityInput } = {},
  ): Promise<{ row: FileRow; blob: BlobRow } | null> {
    // The quota row is the hot row of every commit of one person: charged LAST, its lock is held
    // for one statement and the commit, not for the blob, file and event statements too (with 4
    // uploads of one person in flight, a commit's statements took 33 ms against 6 ms alone).
    return this.transactional(async (tx) => {
      // One upsert whether the content is known (its blob gains a reference) or new (recorded).
      const blob = await insertBlob(tx, { ...location, contentHash: file.contentHash, size: file.size });
      const row = await insertNode(tx, { ...file, isFolder: false, blobId: blob.id }, parentPath);
      // The upload's event names the file it made (UPLOADED, or DROP_RECEIVED through a drop link).
      if (options.event) await recordEvent(tx, { ...options.event, file: { id: row.id, name: row.name } });
      if (options.guardParent) {
        // The folder was read before this transaction (uploadTarget): it must still be the
        // owner's, live, at that path, checked here by the quota charge itself (one statement);
        // when it is not, everything above is rolled back and null sends the caller to read the
        // folder as usual.
        if (!(await chargeUnderParent(tx, file.ownerId, file.size, { id: file.parentId ?? '', path: parentPath }, this.defaultQuotaBytes))) throw new ParentMoved();
      } else {
        await chargeOrThrow(tx, file.ownerId, file.size, this.defaultQuotaBytes);
      }
      return { row, blob };
    }).catch((error: unknown) => {
      if (error instanceof ParentMoved) return null;
      throw error;
    });
  }

  /**
   * New content for a live file in place, in one transaction: the quota charged the growth
   * (QUOTA_EXCEEDED) or given back the shrink, the content's blob referenced or recorded, the row
   * updated only if it still has the content it was read with (else CONFLICT precondition_failed:
   * a concurrent replace won), the old content kept as a version (versions.statements.ts keepVersion,
   * with retention) or, without versions, its blob released. `freed`: blobs no row uses now.
   */
  replaceContent(node: FileRow, content: { size: number; contentHash: string; mimeType: string | null }, location: Pick<NewBlob, 'backend' | 'storageKey'>, event?: ActivityInput): Promise<{ row: FileRow; blob: BlobRow; freed: BlobRow[] }> {
    return this.transactional(async (tx) => {
      const blob = (await refExistingBlob(tx, content.contentHash, content.size)) ?? (await insertBlob(tx, { ...location, contentHash: content.contentHash, size: content.size }));
      const updatedAt = new Date();
      const changes = { size: content.size, blobId: blob.id, contentHash: content.contentHash, mimeType: content.mimeType, updatedAt };
      if ((await tx.nativeUpdate(FileRow, { id: node.id, ownerId: node.ownerId, blobId: node.blobId, trashKey: '' }, changes)) !== 1) {
        throw new AppError('CONFLICT', 'The file changed meanwhile; try again', { details: { reason: 'precondition_failed' } });
      }
      // The old content becomes a version (issue 22: its blob reference and quota charge move to
      // the version row, retention runs here); unchanged content, or VERSIONS_KEEP=0, keeps none.
      const old = node.blobId && node.blobId !== blob.id && this.retention.keep > 0 ? { ...node, blobId: node.blobId, contentHash: node.contentHash ?? '' } : null;
      const dropped = old ? await keepVersion(tx, old, this.retention, updatedAt) : { bytes: Number(node.size), freed: node.blobId ? [await unrefBlob(tx, node.blobId)].filter((b): b is BlobRow => b !== null) : [] };
      const delta = content.size - dropped.bytes;
      if (delta > 0) await chargeOrThrow(tx, node.ownerId, delta, this.defaultQuotaBytes);
      else await release(tx, node.ownerId, -delta);
      // VERSION_ADDED when the content changed (the same bytes again add no version).
      if (event && node.blobId !== blob.id) await recordEvent(tx, event, updatedAt);
      return { row: Object.assign(new FileRow(), node, changes), blob, freed: dropped.freed };
    });
  }

  /**
   * Inserts a copy of a tree (parents first) for `ownerId` in one transaction: charges `bytes`
   * (QUOTA_EXCEEDED), adds a reference to every blob (CONFLICT blob_gone when one was purged
   * meanwhile). False when the top item's name is taken (nothing changed).
   */
  async insertTree(ownerId: string, bytes: number, rows: FileRow[]): Promise<boolean> {
    try {
      await this.transactional(async (tx) => {
        await chargeOrThrow(tx, ownerId, bytes, this.defaultQuotaBytes);
        for (const row of rows) {
          if (row.blobId && !(await refBlobById(tx, row.blobId))) throw blobGone();
          await tx.insert(FileRow, Object.assign(new FileRow(), row, { searchKey: searchKey(row.name) }));
        }
      });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** The person's quota row. */
  async quota(userId: string): Promise<QuotaRow> {
    const found = await this.em().findOne(QuotaRow, { userId });
    if (found) return found;
    await this.provisionDrive(userId);
    return this.em().findOneOrFail(QuotaRow, { userId });
  }

  findBlob(contentHash: string, size: number): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { contentHash, size, refCount: { $gt: 0 } });
  }

  findBlobById(id: string): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { id });
  }
}

function blobGone() {
  return new AppError('CONFLICT', 'A shared file was deleted meanwhile; try again', { details: { reason: 'blob_gone' } });
}
