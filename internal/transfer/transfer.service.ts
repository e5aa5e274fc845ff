/**
 * Moving and copying blobs between storage backends. A job is `{ jobId, blobId, from, to, mode }`;
 * `run` is called by the worker for every delivery and is safe to call any number of times:
 *
 * 1. The blob is read: gone → nothing to do; already at `to` → an earlier run switched it (and maybe
 *    died before deleting the source: that is finished now); elsewhere → someone else moved it.
 * 2. The object is streamed to `to` under the same key, hashed on the way (blobs.copier.ts).
 * 3. The location switches in ONE transaction guarded by the old location (compare-and-set); a
 *    blob deleted or moved meanwhile is left alone and the copy just made is removed.
 * 4. `move` only: after `sourceGraceMs`, the source object is deleted. Downloads read the location
 *    when they start, so a download that began just before the switch may still open the old
 *    object; the grace lets it get there. (An S3 GET already streaming survives a delete on Ceph
 *    RGW, whose garbage collector keeps the data for hours; a local file stays readable while open.)
 *    `copy` switches the location the same way and keeps the source (a way back for the operator).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { securityEventBy } from '../activity/index.ts';
import { AppError } from '../platform/errors.ts';
import type { PubSub } from '../platform/kv/kv.ts';
import type { Logger } from '../platform/logger.ts';
import { errorText, type JobQueue } from '../platform/mq/queue.ts';
import type { StorageRouter } from '../storage/index.ts';
import { copyObject } from './blobs.copier.ts';
import { sameLocation } from './destinations.rules.ts';
import type { TransferJobRow, TransferMode, TransferStatus } from './transfer.entities.ts';
import { publishTransferEvent } from './transfer.events.ts';
import type { TransferMetrics } from './transfer.metrics.ts';
import type { TransferRepository } from './transfer.repository.ts';

export const TransferJobMessage = z.strictObject({
  jobId: z.string().min(1).max(36),
  blobId: z.string().min(1).max(36),
  from: z.string().min(1).max(63),
  to: z.string().min(1).max(63),
  mode: z.enum(['move', 'copy']),
});
export type TransferJob = z.infer<typeof TransferJobMessage>;

export interface TransferJobDto {
  id: string;
  blobId: string;
  from: string;
  to: string;
  mode: TransferMode;
  status: TransferStatus;
  attempts: number;
  lastError: string | null;
  bytes: number;
  updatedAt: string;
}

export interface TransferSettings {
  /** Wait between the switch and deleting the source object (see above). */
  sourceGraceMs: number;
  /** Read the target back after copying (a second full read; the streaming hash is always checked). */
  rereadTarget: boolean;
}

export type RunOutcome = 'moved' | 'copied' | 'skipped';

export class TransferService {
  constructor(
    private readonly repo: TransferRepository,
    private readonly storage: StorageRouter,
    private readonly queue: JobQueue,
    private readonly pubsub: PubSub,
    private readonly metrics: TransferMetrics,
    private readonly settings: TransferSettings,
    private readonly log: Logger,
  ) {}

  /** Records the job and queues it; a blob with a live job gets that one back, not a second. */
  async enqueue(input: Omit<TransferJob, 'jobId'>): Promise<TransferJobDto> {
    if (input.from === input.to) throw new AppError('BAD_INPUT', 'A transfer needs two different backends');
    const { job, created } = await this.repo.insertJob({ blobId: input.blobId, fromBackend: input.from, toBackend: input.to, mode: input.mode });
    // A row without its message (the broker refused) stays QUEUED; `republishStale` sends it later.
    if (created) await this.publish(job);
    return toDto(job);
  }

  /** One delivery of a job. Throws to have the queue retry it (or dead-letter it on the last attempt). */
  async run(job: TransferJob, delivery: { attempt: number; finalAttempt: boolean }): Promise<RunOutcome> {
    const row = await this.repo.findJob(job.jobId);
    // DONE: a duplicate delivery. FAILED: dead-lettered and not retried by an admin. No row: not ours.
    if (!row || row.status === 'DONE' || row.status === 'FAILED') return 'skipped';
    const started = Date.now();
    await this.setStatus(row, { status: 'RUNNING', attempts: row.attempts + 1, startedAt: new Date(), bytes: 0 });
    try {
      const outcome = await this.transfer(job, row);
      await this.setStatus(row, { status: 'DONE', activeKey: null });
      this.metrics.jobs.inc({ outcome });
      if (outcome !== 'skipped') this.metrics.duration.observe((Date.now() - started) / 1000);
      this.log.info({ job: job.jobId, blob: job.blobId, from: job.from, to: job.to, outcome, bytes: row.bytes, ms: Date.now() - started }, 'transfer finished');
      return outcome;
    } catch (error) {
      const final = delivery.finalAttempt || AppError.is(error, 'BAD_INPUT');
      const lastError = errorText(error);
      await this.setStatus(row, final ? { status: 'FAILED', activeKey: null, lastError } : { status: 'QUEUED', lastError }).catch(() => undefined);
      this.metrics.failures.inc({ from: job.from, to: job.to });
      this.metrics.jobs.inc({ outcome: final ? 'failed' : 'retry' });
      this.log.warn({ job: job.jobId, attempt: delivery.attempt, final, err: error }, 'transfer failed');
      throw error;
    }
  }

  /**
   * The queue gave up a job no run of which finished (`delivery_limit`: its worker died every
   * time), so no run recorded the failure: the row goes FAILED here, where the admin view and
   * `retryTransfer` find it, and the blob is free for a new job. Called again for the same job
   * (a redelivery of the dead-lettering itself) it changes and counts nothing.
   */
  async deadLettered(job: TransferJob, dead: { reason: string; lastError: string; attempts: number }): Promise<void> {
    const row = await this.repo.findJob(job.jobId);
    this.log.error({ job: job.jobId, blob: job.blobId, from: job.from, to: job.to, reason: dead.reason, attempt: dead.attempts, lastError: dead.lastError }, 'transfer dead-lettered');
    if (!row || row.status === 'DONE' || row.status === 'FAILED') return;
    await this.setStatus(row, { status: 'FAILED', activeKey: null, lastError: dead.lastError });
    this.metrics.jobs.inc({ outcome: 'failed' });
  }

  /**
   * FAILED → queued again with a fresh retry budget. False when the job is not FAILED (or the blob
   * has a live job). `by`: the administrator, whose ADMIN_ACTION event is written with the requeue.
   */
  async retry(id: string, by?: { userId: string; username: string }): Promise<boolean> {
    const existing = await this.repo.findJob(id);
    if (!existing) throw new AppError('NOT_FOUND', 'No such transfer job');
    const row = await this.repo.requeueFailed(id, by ? securityEventBy(by, 'ADMIN_ACTION', `retryTransfer ${id}`) : undefined);
    if (!row) return false;
    await this.publish(row);
    await this.emit(row);
    return true;
  }

  async list(status: TransferStatus | undefined, limit: number) {
    const [counts, jobs] = await Promise.all([this.repo.countByStatus(), this.repo.listJobs(status, limit)]);
    return { counts, jobs: jobs.map(toDto) };
  }

  async backends() {
    const usage = await this.repo.usageByBackend();
    return this.storage.backends().map((b) => ({ ...b, objectCount: usage.get(b.name)?.objectCount ?? 0, bytes: usage.get(b.name)?.bytes ?? 0 }));
  }

  /** Sends again the jobs still QUEUED since `before` (lost publishes); duplicates are harmless. */
  async republishStale(before: Date, limit = 500): Promise<number> {
    const stale = await this.repo.staleQueued(before, limit);
    for (const row of stale) {
      await this.publish(row);
      await this.repo.updateJob(row.id, {});
    }
    return stale.length;
  }

  private async transfer(job: TransferJob, row: TransferJobRow): Promise<RunOutcome> {
    if (job.from === job.to) throw new AppError('BAD_INPUT', 'A transfer needs two different backends');
    const blob = await this.repo.findBlob(job.blobId);
    if (!blob) return 'skipped';
    if (blob.backend === job.to) {
      // Switched by an earlier run that died before deleting the source: finish its work.
      if (job.mode === 'move' && row.sourceKey && row.sourceKey === blob.storageKey) await this.deleteSource(job.from, row.sourceKey);
      return 'skipped';
    }
    if (blob.backend !== job.from) return 'skipped';
    if (sameLocation(this.storage.config(), job.from, job.to)) {
      // Deleting the "source" would delete the copy: both names point at one bucket or directory.
      throw new AppError('BAD_INPUT', `Backends ${job.from} and ${job.to} store into the same place`);
    }
    const source = this.storage.store(job.from);
    const target = this.storage.store(job.to);
    const key = blob.storageKey;
    await this.repo.updateJob(row.id, { sourceKey: key });
    row.sourceKey = key;
    let savedAt = Date.now();
    await copyObject(source, key, target, key, { size: blob.size, contentHash: blob.contentHash }, {
      reread: this.settings.rereadTarget,
      onProgress: (bytes) => {
        row.bytes += bytes;
        this.metrics.bytes.inc({ from: job.from, to: job.to }, bytes);
        if (Date.now() - savedAt < 1_000) return;
        savedAt = Date.now();
        this.repo.updateJob(row.id, { bytes: row.bytes }).catch((error: unknown) => this.log.debug({ err: error }, 'progress not saved'));
      },
    });
    const switched = await this.repo.switchLocation(blob.id, { backend: job.from, storageKey: key }, { backend: job.to, storageKey: key }, row.id);
    if (!switched) {
      const now = await this.repo.findBlob(blob.id);
      // Deleted meanwhile (or moved by a twin run that then owns the target): drop our orphan copy.
      if (!(now?.backend === job.to && now.storageKey === key)) await target.delete(key);
      return 'skipped';
    }
    if (job.mode === 'copy') return 'copied';
    await this.deleteSource(job.from, key);
    return 'moved';
  }

  private async deleteSource(backend: string, key: string): Promise<void> {
    await sleep(this.settings.sourceGraceMs);
    await this.storage.store(backend).delete(key);
  }

  private async publish(row: TransferJobRow): Promise<void> {
    const message: TransferJob = { jobId: row.id, blobId: row.blobId, from: row.fromBackend, to: row.toBackend, mode: row.mode };
    await this.queue.publish(message, { messageId: row.id });
    await this.emit(row);
  }

  private async setStatus(row: TransferJobRow, changes: Partial<TransferJobRow>): Promise<void> {
    await this.repo.updateJob(row.id, { ...changes, bytes: changes.bytes ?? row.bytes });
    Object.assign(row, changes, { updatedAt: new Date() });
    await this.emit(row);
  }

  private async emit(row: TransferJobRow): Promise<void> {
    await publishTransferEvent(this.pubsub, toDto(row)).catch((error: unknown) => this.log.debug({ err: error }, 'transfer event not published'));
  }
}

export function toDto(row: TransferJobRow): TransferJobDto {
  return {
    id: row.id, blobId: row.blobId, from: row.fromBackend, to: row.toBackend, mode: row.mode, status: row.status,
    attempts: row.attempts, lastError: row.lastError, bytes: Number(row.bytes), updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
