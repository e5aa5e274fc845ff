/**
 * Chunks of an upload session. The gateway streams the bytes straight into the backend's
 * multipart upload; this service decides whether a chunk may be sent (begin), records it once
 * the backend acknowledged it (record), and gives the slot back when the transfer failed (abort).
 *
 * - A chunk sent again replaces the recorded one (as S3 overwrites a part of the same number), so a
 *   session whose content hash did not add up completes once the right bytes are resent; the same
 *   bytes again change nothing (`unchanged`). Once the parts were assembled, resends are dropped.
 * - Declared block hashes (createUpload's blockHashes) are checked when the chunk is recorded: a
 *   chunk whose bytes differ is refused (digest_mismatch, naming the chunk) and not recorded.
 * - One upload of a given chunk at a time (a lock in the key-value store): a second concurrent
 *   upload of the same index is refused with CONFLICT, so two bodies can never race for one part;
 *   completion waits while any chunk lock is held (a resend must not change a part being assembled).
 */
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { BLOCK_SIZE } from '../files/content-hash.ts';
import type { UploadProgress } from './progress.channel.ts';
import type { SessionCore, UploadsDeps } from './session.core.ts';
import { isActive } from './session-status.machine.ts';
import { chunkLength } from './upload-plan.rules.ts';
import type { UploadSessionRow } from './uploads.entities.ts';

/** How far the idle expiry must have fallen behind before a recorded chunk writes it again. */
const EXPIRY_REFRESH_MS = 60_000;

export type ChunkSlot =
  | { alreadyRecorded: true }
  | { alreadyRecorded: false; lockToken: string; backend: string; storageKey: string; multipartId: string; partNumber: number; size: number };

export class ChunksService {
  private readonly sessions: UploadsDeps['sessions'];
  private readonly receipts: UploadsDeps['receipts'];

  constructor(
    private readonly core: SessionCore,
    deps: Pick<UploadsDeps, 'sessions' | 'receipts'>,
  ) {
    this.sessions = deps.sessions;
    this.receipts = deps.receipts;
  }

  private assertIndex(row: UploadSessionRow, index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= row.chunkCount) {
      throw new AppError('BAD_INPUT', `Chunk index must be between 0 and ${row.chunkCount - 1}`, { details: { field: 'index', reason: 'index_out_of_range', chunkCount: row.chunkCount } });
    }
    return chunkLength(index, Number(row.size), row.chunkSize, row.chunkCount);
  }

  async begin(viewer: Viewer, sessionId: string, index: number, declaredLength: number | null): Promise<ChunkSlot> {
    const row = await this.core.load(viewer, sessionId);
    if (!isActive(row.status)) throw this.core.refuse(row, 'send a chunk');
    const size = this.assertIndex(row, index);
    if (declaredLength !== null && declaredLength !== size) {
      throw new AppError('BAD_INPUT', `Chunk ${index} must have exactly ${size} bytes, not ${declaredLength}`, { details: { field: 'chunk', reason: 'chunk_length', expected: size, received: declaredLength } });
    }
    // Every chunk is already in the one assembled object: nothing left to replace.
    if (row.assembledHash) return { alreadyRecorded: true };
    await this.core.ensureReceipts(row);
    const lockToken = await this.receipts.lock(row.id, index);
    if (!lockToken) {
      throw new AppError('CONFLICT', `Chunk ${index} is being uploaded by another request`, { details: { reason: 'chunk_in_progress' }, retryAfter: 1 });
    }
    let multipartId: string;
    try {
      // A completion may have moved on between the load above and the lock: it checks the locks
      // only after leaving UPLOADING, so the status read after locking decides.
      const now = await this.core.reload(row);
      if (!now || !isActive(now.status) || now.assembledHash) throw this.core.refuse(now ?? row, 'send a chunk');
      multipartId = await this.core.ensureMultipart(row);
    } catch (error) {
      await this.receipts.unlock(row.id, index, lockToken);
      throw error;
    }
    if (row.status === 'PENDING') await this.core.transition(row, ['PENDING'], 'UPLOADING');
    return { alreadyRecorded: false, lockToken, backend: row.backend, storageKey: row.storageKey, multipartId, partNumber: index + 1, size };
  }

  /** Records a chunk the backend acknowledged, with its block digests for the final hash check. */
  async record(
    viewer: Viewer,
    input: { sessionId: string; index: number; lockToken: string; etag: string; size: number; digests: string[]; streamed: number },
  ): Promise<UploadProgress & { outcome: 'added' | 'replaced' | 'unchanged' }> {
    const row = await this.core.load(viewer, input.sessionId);
    const size = this.assertIndex(row, input.index);
    let outcome: 'added' | 'replaced' | 'unchanged';
    try {
      if (input.size !== size || input.digests.length !== Math.ceil(size / BLOCK_SIZE)) {
        throw new AppError('BAD_INPUT', 'Chunk receipt does not match the chunk', { details: { reason: 'chunk_length' } });
      }
      if (row.status !== 'UPLOADING') throw this.core.refuse(row, 'record a chunk');
      // A lock that expired (the stream stalled) may now belong to another upload of this chunk,
      // whose bytes are the part the backend keeps: this receipt must not be recorded.
      if (!(await this.receipts.renewLock(row.id, input.index, input.lockToken))) {
        throw new AppError('CONFLICT', `Chunk ${input.index} was taken over by another upload`, { details: { reason: 'chunk_lock_lost' }, retryAfter: 1 });
      }
      const firstBlock = (input.index * row.chunkSize) / BLOCK_SIZE;
      const declared = await this.sessions.declaredDigests(row.id, firstBlock, input.digests.length);
      const differs = declared ? input.digests.findIndex((d, i) => d !== declared[i]) : -1;
      if (differs >= 0) {
        // The part now holds these wrong bytes: an earlier receipt of this chunk no longer
        // describes the backend's part, so the chunk is missing again until resent.
        await this.receipts.forget(row.id, input.index, size);
        throw new AppError('BAD_INPUT', `Chunk ${input.index} does not match the block hashes declared for it; send its bytes again`, {
          details: { field: 'chunk', reason: 'digest_mismatch', chunk: input.index, block: firstBlock + differs },
        });
      }
      outcome = await this.receipts.record(row.id, input.index, { etag: input.etag, size, digests: input.digests });
      // Activity pushes the idle expiry back. Once a minute is precise enough for a 24 h TTL and
      // spares a database commit on every chunk (one chunk in flight waits for each).
      const expiresAt = this.core.expiry();
      if (expiresAt.getTime() - row.expiresAt.getTime() >= EXPIRY_REFRESH_MS) await this.sessions.update(row.id, { expiresAt });
    } finally {
      await Promise.all([this.receipts.addInflight(row.id, -input.streamed), this.receipts.unlock(row.id, input.index, input.lockToken)]);
    }
    const progress = await this.core.publish(row);
    return { ...progress, outcome };
  }

  /**
   * Gives the chunk's slot back after a failed transfer. `partWritten`: the backend took the bytes
   * (they were refused afterwards, e.g. by their Content-Digest), so the part no longer holds what
   * an earlier receipt of this chunk says: that receipt goes, while the lock is still held.
   */
  async abort(viewer: Viewer, input: { sessionId: string; index: number; lockToken: string; streamed: number; partWritten?: boolean }): Promise<void> {
    const row = await this.core.load(viewer, input.sessionId);
    if (input.partWritten && (await this.receipts.renewLock(row.id, input.index, input.lockToken))) {
      await this.receipts.forget(row.id, input.index, this.assertIndex(row, input.index));
    }
    await this.receipts.addInflight(row.id, -input.streamed);
    await this.receipts.unlock(row.id, input.index, input.lockToken);
    await this.core.publish(row);
  }

  /** Bytes of a chunk still streaming, reported by the gateway a few times a second; renews its lock. */
  async progress(viewer: Viewer, sessionId: string, index: number, lockToken: string, delta: number): Promise<void> {
    const row = await this.core.load(viewer, sessionId);
    await this.receipts.renewLock(row.id, index, lockToken);
    await this.receipts.addInflight(row.id, delta);
    await this.core.publish(row);
  }
}
