/**
 * The only code of the transfer service that touches the database: the `transfer_jobs` rows and,
 * for the location switch, the `blobs` rows of the files model (read, and the one guarded update).
 */
import { raw, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { randomUUID } from 'node:crypto';
import { recordEvent, type ActivityInput } from '../activity/index.ts';
import { BlobRow } from '../files/files.entities.ts';
import type { Orm } from '../platform/db/orm.ts';
import { TransferJobRow, type TransferStatus } from './transfer.entities.ts';

export interface Location {
  backend: string;
  storageKey: string;
}

export class TransferRepository {
  constructor(private readonly orm: Orm) {}

  private em(): SqlEntityManager {
    return this.orm.em.fork() as SqlEntityManager;
  }

  findBlob(id: string): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { id });
  }

  findBlobByContent(contentHash: string, size: number): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { contentHash, size });
  }

  /** Blob ids on a backend in id order, `limit` after `afterId` (keyset paging: stable while rows move away). */
  async blobIdsOn(backend: string, afterId: string, limit: number): Promise<string[]> {
    const rows = await this.em().find(BlobRow, { backend, id: { $gt: afterId } }, { fields: ['id'], orderBy: { id: 'asc' }, limit });
    return rows.map((r) => r.id);
  }

  async usageByBackend(): Promise<Map<string, { objectCount: number; bytes: number }>> {
    const rows = await this.em()
      .createQueryBuilder(BlobRow)
      .select(['backend', raw('count(*) as object_count'), raw('coalesce(sum(size), 0) as bytes')])
      .groupBy('backend')
      .execute<{ backend: string; object_count: number | string; bytes: number | string }[]>('all', false);
    return new Map(rows.map((r) => [r.backend, { objectCount: Number(r.object_count), bytes: Number(r.bytes) }]));
  }

  /** Inserts a QUEUED job; when the blob already has a live job, returns that one instead. */
  async insertJob(job: Pick<TransferJobRow, 'blobId' | 'fromBackend' | 'toBackend' | 'mode'>): Promise<{ job: TransferJobRow; created: boolean }> {
    const now = new Date();
    const row: TransferJobRow = Object.assign(new TransferJobRow(), {
      ...job, id: randomUUID(), status: 'QUEUED', activeKey: job.blobId, attempts: 0, lastError: null, sourceKey: null, bytes: 0,
      startedAt: null, createdAt: now, updatedAt: now,
    } satisfies TransferJobRow);
    try {
      await this.em().insert(TransferJobRow, row);
      return { job: row, created: true };
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      const existing = await this.em().findOne(TransferJobRow, { activeKey: row.blobId });
      if (!existing) throw error; // It finished between the insert and the read: let the caller retry.
      return { job: existing, created: false };
    }
  }

  findJob(id: string): Promise<TransferJobRow | null> {
    return this.em().findOne(TransferJobRow, { id });
  }

  async updateJob(id: string, changes: Partial<TransferJobRow>): Promise<void> {
    await this.em().nativeUpdate(TransferJobRow, { id }, { ...changes, updatedAt: new Date() });
  }

  /** FAILED → QUEUED, unless the blob has another live job meanwhile (then false). */
  async requeueFailed(id: string, event?: ActivityInput): Promise<TransferJobRow | null> {
    const job = await this.findJob(id);
    if (!job || job.status !== 'FAILED') return null;
    try {
      // The administrator's event (ADMIN_ACTION) commits with the requeue, or not at all.
      return await this.em().transactional(async (em) => {
        const changed = await em.nativeUpdate(
          TransferJobRow,
          { id, status: 'FAILED' },
          { status: 'QUEUED', activeKey: job.blobId, updatedAt: new Date() },
        );
        if (changed !== 1) return null;
        if (event) await recordEvent(em, event);
        return { ...job, status: 'QUEUED' as const, activeKey: job.blobId };
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return null;
      throw error;
    }
  }

  /**
   * The switch, in one transaction: the blob moves from `from` to `to` only if it is still at
   * `from` (compare-and-set: a blob deleted, or moved by another run, is left alone), and the job
   * records that its copy is live. False when the blob was not where the job expected.
   */
  async switchLocation(blobId: string, from: Location, to: Location, jobId: string): Promise<boolean> {
    return this.em().transactional(async (em) => {
      const changed = await em.nativeUpdate(
        BlobRow,
        { id: blobId, backend: from.backend, storageKey: from.storageKey },
        { backend: to.backend, storageKey: to.storageKey },
      );
      if (changed !== 1) return false;
      await em.nativeUpdate(TransferJobRow, { id: jobId }, { sourceKey: from.storageKey, updatedAt: new Date() });
      return true;
    });
  }

  listJobs(status: TransferStatus | undefined, limit: number): Promise<TransferJobRow[]> {
    return this.em().find(TransferJobRow, status ? { status } : {}, { orderBy: { updatedAt: 'desc' }, limit });
  }

  async countByStatus(): Promise<Record<TransferStatus, number>> {
    const rows = await this.em()
      .createQueryBuilder(TransferJobRow)
      .select(['status', raw('count(*) as n')])
      .groupBy('status')
      .execute<{ status: TransferStatus; n: number | string }[]>('all', false);
    const counts: Record<TransferStatus, number> = { QUEUED: 0, RUNNING: 0, DONE: 0, FAILED: 0 };
    for (const r of rows) counts[r.status] = Number(r.n);
    return counts;
  }

  /** QUEUED jobs untouched since `before`: their message may never have reached the broker. */
  staleQueued(before: Date, limit: number): Promise<TransferJobRow[]> {
    return this.em().find(TransferJobRow, { status: 'QUEUED', updatedAt: { $lt: before } }, { orderBy: { updatedAt: 'asc' }, limit });
  }
}
