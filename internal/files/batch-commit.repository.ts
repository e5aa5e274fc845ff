/**
 * The statements of uploadFiles (batch-commit.service.ts): a batch's pre-checks, and its files
 * recorded in one transaction. Beside FilesRepository, with the same statements
 * (files.statements.ts) and the same retried transactions; only the files service imports it.
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import { recordEvents, type ActivityInput } from '../activity/index.ts';
import type { Orm } from '../platform/db/orm.ts';
import { retryingTransaction } from '../platform/db/retrying-transaction.ts';
import type { BlobRow, FileRow } from './files.entities.ts';
import { chargeOrThrow, chargeUnderParent, insertBlobs, insertNodes, type NewBlob, type NewNode } from './files.statements.ts';

/** Rolls back a guarded commit whose folder moved or went (commitFiles answers null). */
class ParentMoved extends Error {}

export class BatchCommitsRepository {
  constructor(
    private readonly orm: Orm,
    /** The limit of a new person's quota row (DEFAULT_QUOTA_BYTES). */
    private readonly defaultQuotaBytes: number,
  ) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /**
   * uploadFiles' pre-checks in two statements: the live folder's path (or a file's) with the quota,
   * then which of `keys` live items hold in it. Null when the folder or quota row is missing (the
   * caller then reads the folder as usual). On the primary, as uploadTarget, for the same reason.
   */
  async uploadTargets(ownerId: string, folderId: string, keys: readonly string[]): Promise<{ path: string; isFolder: boolean; taken: Set<string>; used: number; limit: number } | null> {
    const em = this.em();
    const [row] = await em.execute<{ path: string; is_folder: unknown; used_bytes: unknown; limit_bytes: unknown }[]>(
      `select f.path, f.is_folder, q.used_bytes, q.limit_bytes from files f join quotas q on q.user_id = f.owner_id
       where f.id = ? and f.owner_id = ? and f.trash_key = '' and f.trashed_at is null`,
      [folderId, ownerId],
      'all',
    );
    if (!row) return null;
    return { path: row.path, isFolder: Boolean(Number(row.is_folder)), taken: await this.takenKeys(ownerId, folderId, keys), used: Number(row.used_bytes), limit: Number(row.limit_bytes) };
  }

  /** Which of `keys` live items of the folder hold (one statement; none for no keys). */
  async takenKeys(ownerId: string, folderId: string, keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const rows = await this.em().execute<{ name_key: string }[]>(
      `select name_key from files where owner_id = ? and parent_id = ? and trash_key = '' and name_key in (${keys.map(() => '?').join(', ')})`,
      [ownerId, folderId, ...keys],
      'all',
    );
    return new Set(rows.map((r) => r.name_key));
  }

  /**
   * Several stored files into one folder in one transaction (uploadFiles): each file's blob
   * recorded or shared and its row inserted with its event, then the quota charged once for all
   * (last, as commitFile does, for the same reason). All or nothing: a name taken meanwhile
   * (CONFLICT name_taken) or a quota that no longer fits rolls every file back, and the caller
   * commits them one by one. Null only with `guardParent`, as commitFile.
   */
  commitFiles(
    files: (Omit<NewNode, 'isFolder' | 'blobId' | 'contentHash'> & { contentHash: string; location: Pick<NewBlob, 'backend' | 'storageKey'> })[],
    parentPath: string,
    options: { guardParent?: boolean; event?: ActivityInput } = {},
  ): Promise<{ row: FileRow; blob: BlobRow }[] | null> {
    // Three statements for the whole batch (blobs, files, events), not three per file: per file,
    // they were a third of the server's CPU for a batch of 150 KiB files (bench/profile/small-probe.ts).
    return retryingTransaction(() => this.em(), async (tx) => {
      const blobs = await insertBlobs(tx, files.map(({ location, contentHash, size }) => ({ ...location, contentHash, size })));
      const rows = await insertNodes(tx, files.map(({ location: _location, ...file }, i) => ({ ...file, isFolder: false, blobId: (blobs[i] as BlobRow).id })), parentPath);
      const event = options.event;
      if (event) await recordEvents(tx, rows.map((row) => ({ ...event, file: { id: row.id, name: row.name } })));
      const done = rows.map((row, i) => ({ row, blob: blobs[i] as BlobRow }));
      const bytes = files.reduce((sum, file) => sum + file.size, 0);
      const [first] = files;
      if (first && options.guardParent) {
        if (!(await chargeUnderParent(tx, first.ownerId, bytes, { id: first.parentId ?? '', path: parentPath }, this.defaultQuotaBytes))) throw new ParentMoved();
      } else if (first) {
        await chargeOrThrow(tx, first.ownerId, bytes, this.defaultQuotaBytes);
      }
      return done;
    }).catch((error: unknown) => {
      if (error instanceof ParentMoved) return null;
      throw error;
    });
  }

}
