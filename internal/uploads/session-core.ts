/**
 * What every upload operation shares: loading a session the viewer owns, making sure its chunk
 * receipts are present (rebuilt from the backend's listParts after a key-value store loss),
 * answering its current state, and announcing state changes to progress subscribers.
 */
import { AppError } from '../platform/errors.ts';
import type { PubSub } from '../platform/kv/kv.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { StorageRouter } from '../storage/index.ts';
import type { ChunkReceipts } from './chunk-receipts.ts';
import { publishProgress, type UploadProgress } from './progress.ts';
import type { ChallengeRange } from './upload-plan.ts';
import type { UploadSessionRow, UploadStatus } from './uploads.entities.ts';
import type { UploadsRepository } from './uploads.repository.ts';

export interface UploadSessionDto {
  id: string;
  status: UploadStatus;
  name: string;
  parentId: string;
  size: number;
  chunkSize: number;
  chunkCount: number;
  contentHash: string | null;
  uploadedChunks: number[];
  missingChunks: number[];
  uploadedBytes: number;
  challenge: { nonce: string; ranges: ChallengeRange[] } | null;
  fileId: string | null;
  failureReason: string | null;
  createdAt: string;
  expiresAt: string;
}

export const IDLE_TTL_MS = 24 * 3_600_000;
const LIVE: UploadStatus[] = ['PENDING', 'UPLOADING', 'PAUSED', 'COMPLETING'];

export class SessionCore {
  constructor(
    readonly repo: UploadsRepository,
    readonly receipts: ChunkReceipts,
    readonly pubsub: PubSub,
    readonly storage: StorageRouter,
    readonly now: () => Date = () => new Date(),
  ) {}

  /** The viewer's session; another person's id is NOT_FOUND. A session past its expiry is EXPIRED. */
  async load(viewer: Viewer, id: string): Promise<UploadSessionRow> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such upload session');
    if (LIVE.includes(row.status) && row.expiresAt.getTime() <= this.now().getTime()) row.status = 'EXPIRED';
    return row;
  }

  /** CONFLICT naming the status, for operations the session's state does not allow. */
  refuse(row: UploadSessionRow, action: string): AppError {
    return new AppError('CONFLICT', `Cannot ${action}: the upload is ${row.status.toLowerCase()}`, {
      details: { reason: `session_${row.status.toLowerCase()}`, status: row.status },
    });
  }

  async ensureReceipts(row: UploadSessionRow): Promise<void> {
    if (!LIVE.includes(row.status) || (await this.receipts.present(row.id))) return;
    const parts = row.multipartId ? await this.storage.store(row.backend).listParts(row.storageKey, row.multipartId) : [];
    await this.receipts.rebuild(row.id, parts);
  }

  /**
   * The backend multipart upload of the session, started now if it was deferred. When two first
   * chunks race, a compare-and-set on the row keeps one multipart; the other is aborted.
   */
  async ensureMultipart(row: UploadSessionRow): Promise<string> {
    if (row.multipartId) return row.multipartId;
    const store = this.storage.store(row.backend);
    const created = await store.createMultipart(row.storageKey, row.mimeType ? { contentType: row.mimeType } : {});
    if (await this.repo.setMultipart(row.id, created)) return (row.multipartId = created);
    await store.abortMultipart(row.storageKey, created).catch(() => undefined);
    const fresh = await this.repo.findOwned(row.ownerId, row.id);
    if (!fresh?.multipartId) throw new AppError('CONFLICT', 'The upload changed meanwhile; try again', { details: { reason: 'session_changed' } });
    return (row.multipartId = fresh.multipartId);
  }

  async dto(row: UploadSessionRow): Promise<UploadSessionDto> {
    await this.ensureReceipts(row);
    const live = LIVE.includes(row.status);
    const recorded = live ? await this.receipts.all(row.id) : new Map();
    const uploadedChunks = row.status === 'COMPLETED' ? range(row.chunkCount) : [...recorded.keys()].sort((a, b) => a - b);
    const done = new Set(uploadedChunks);
    const uploadedBytes = row.status === 'COMPLETED' ? Number(row.size) : [...recorded.values()].reduce((n, r) => n + r.size, 0);
    return {
      id: row.id,
      status: row.status,
      name: row.name,
      parentId: row.parentId,
      size: Number(row.size),
      chunkSize: row.chunkSize,
      chunkCount: row.chunkCount,
      contentHash: row.contentHash,
      uploadedChunks,
      missingChunks: range(row.chunkCount).filter((i) => !done.has(i)),
      uploadedBytes,
      challenge: row.challengeNonce && row.challengeRanges ? { nonce: row.challengeNonce, ranges: JSON.parse(row.challengeRanges) as ChallengeRange[] } : null,
      fileId: row.fileId,
      failureReason: row.failureReason,
      createdAt: row.createdAt.toISOString(),
      expiresAt: row.expiresAt.toISOString(),
    };
  }

  async progress(row: UploadSessionRow): Promise<UploadProgress> {
    const live = LIVE.includes(row.status);
    const counts = live ? await this.receipts.counts(row.id) : { chunks: 0, bytes: 0, inflight: 0 };
    const completed = row.status === 'COMPLETED';
    return {
      sessionId: row.id,
      status: row.status,
      uploadedBytes: completed ? Number(row.size) : Math.min(Number(row.size), counts.bytes + counts.inflight),
      size: Number(row.size),
      uploadedChunkCount: completed ? row.chunkCount : counts.chunks,
      chunkCount: row.chunkCount,
    };
  }

  async publish(row: UploadSessionRow): Promise<void> {
    await publishProgress(this.pubsub, await this.progress(row));
  }

  /** Compare-and-set of the status; on success the row object and subscribers follow. */
  async transition(row: UploadSessionRow, from: UploadStatus[], to: UploadStatus, changes: Partial<UploadSessionRow> = {}): Promise<boolean> {
    if (!(await this.repo.transition(row.id, from, to, changes))) return false;
    Object.assign(row, changes, { status: to });
    await this.publish(row);
    return true;
  }

  expiry(): Date {
    return new Date(this.now().getTime() + IDLE_TTL_MS);
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
