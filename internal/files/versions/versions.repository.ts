/**
 * The only code of versions that touches the database: reads of version rows and the transactions
 * of restore, delete and the age sweep (the statements they share with the files repository's
 * content replace and purge are in versions.statements.ts).
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import type { Orm } from '../../platform/db/orm.ts';
import { retryingTransaction } from '../../platform/db/retrying-transaction.ts';
import { recordEvent, type ActivityInput } from '../../activity/index.ts';
import { AppError } from '../../platform/errors.ts';
import { FileRow, type BlobRow } from '../files.entities.ts';
import { release, unrefBlob } from '../files.statements.ts';
import { FileVersionRow } from './versions.entities.ts';
import { drop, keepVersion, type VersionRetention } from './versions.statements.ts';

/** Version rows a sweep handles per transaction. */
const SWEEP_BATCH = 200;

export class VersionsRepository {
  constructor(
    private readonly orm: Orm,
    private readonly retention: VersionRetention,
  ) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  /** A transaction retried when it is a deadlock victim (platform/db/retrying-transaction.ts). */
  private transactional<T>(fn: (em: EntityManager) => Promise<T>): Promise<T> {
    return retryingTransaction(() => this.em(), fn);
  }

  /** The versions of many files of one person, newest first per file: one statement (DataLoader). */
  listMany(ownerId: string, fileIds: readonly string[]): Promise<FileVersionRow[]> {
    return this.em().find(FileVersionRow, { ownerId, fileId: { $in: [...fileIds] } }, { orderBy: { fileId: 'asc', seq: 'desc' } });
  }

  /** One version of one file of the person's, else null (another person's, another file's, unknown). */
  find(ownerId: string, fileId: string, versionId: string): Promise<FileVersionRow | null> {
    return this.em().findOne(FileVersionRow, { id: versionId, fileId, ownerId });
  }

  /**
   * The version becomes the file's content and the current content a version, in one transaction:
   * the version row's blob reference and charge move to the file, the current content's to a new
   * version row (the quota is unchanged but for what retention prunes). CONFLICT
   * precondition_failed when the file or the version changed meanwhile (nothing changed).
   */
  restore(file: FileRow, version: FileVersionRow, event?: ActivityInput): Promise<{ row: FileRow; freed: BlobRow[] }> {
    return this.transactional(async (tx) => {
      if ((await tx.nativeDelete(FileVersionRow, { id: version.id, fileId: file.id })) !== 1) throw changed();
      const now = new Date();
      const changes = { size: Number(version.size), blobId: version.blobId, contentHash: version.contentHash, mimeType: version.mimeType, updatedAt: now };
      if ((await tx.nativeUpdate(FileRow, { id: file.id, ownerId: file.ownerId, blobId: file.blobId, trashKey: '' }, changes)) !== 1) throw changed();
      let releasedBytes = 0;
      const freed: BlobRow[] = [];
      if (file.blobId && this.retention.keep > 0) {
        const dropped = await keepVersion(tx, { ...file, blobId: file.blobId, contentHash: file.contentHash ?? '' }, this.retention, now);
        releasedBytes += dropped.bytes;
        freed.push(...dropped.freed);
      } else if (file.blobId) {
        // No versions kept (VERSIONS_KEEP=0 since this one was made): the current content just goes.
        releasedBytes += Number(file.size);
        const orphan = await unrefBlob(tx, file.blobId);
        if (orphan) freed.push(orphan);
      }
      await release(tx, file.ownerId, releasedBytes);
      if (event) await recordEvent(tx, event, now);
      return { row: Object.assign(new FileRow(), file, changes), freed };
    });
  }

  /** Deletes one version: its blob reference and its quota charge go. */
  remove(version: FileVersionRow): Promise<BlobRow[]> {
    return this.transactional(async (tx) => {
      const dropped = await drop(tx, [version]);
      await release(tx, version.ownerId, dropped.bytes);
      return dropped.freed;
    });
  }

  /**
   * One batch of the age sweep: versions created before `cutoff` (any person's), dropped with their
   * owners' quota given back. Returns the freed blobs and how many versions went (a full batch: call again).
   */
  sweepBatch(cutoff: Date): Promise<{ count: number; freed: BlobRow[] }> {
    return this.transactional(async (tx) => {
      const rows = await tx.find(FileVersionRow, { createdAt: { $lt: cutoff } }, { limit: SWEEP_BATCH, orderBy: { createdAt: 'asc' } });
      const freed: BlobRow[] = [];
      const byOwner = new Map<string, FileVersionRow[]>();
      for (const row of rows) byOwner.set(row.ownerId, [...(byOwner.get(row.ownerId) ?? []), row]);
      for (const [ownerId, owned] of byOwner) {
        const dropped = await drop(tx, owned);
        await release(tx, ownerId, dropped.bytes);
        freed.push(...dropped.freed);
      }
      return { count: rows.length, freed };
    });
  }
}

function changed(): AppError {
  return new AppError('CONFLICT', 'The file or the version changed meanwhile; try again', { details: { reason: 'precondition_failed' } });
}
