/**
 * Finishing an upload session, two ways:
 * - completeUpload: every chunk present, the content hash verified from the block digests the
 *   server computed itself, the backend multipart completed, the file committed (quota charged,
 *   blob recorded or shared). A backend failure puts the session back to UPLOADING: resumable.
 * - proveOwnership (instant upload, 秒传): the client proves it holds the bytes of a blob the
 *   store already has by hashing the challenge's ranges with the nonce; the file links to that
 *   blob and no byte is sent. A wrong proof and an unknown hash give the same answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { Viewer } from '../platform/request-context.ts';
import { BlockHasher, combineBlockDigests } from '../files/content-hash.ts';
import type { FilesPort } from './files-port.ts';
import type { SessionCore, UploadSessionDto } from './session-core.ts';
import type { ChallengeRange } from './upload-plan.ts';
import type { UploadSessionRow } from './uploads.entities.ts';

export const PROOFS_PER_SESSION = 5;
export const PROOFS_PER_MINUTE = 30;

export class CompletionService {
  /**
   * Called once a completion has committed its file, with where the bytes landed (the transfer
   * service queues the move off a staging backend here). Its failure never fails the upload.
   */
  afterComplete: ((stored: { backend: string; contentHash: string; size: number }) => Promise<void>) | undefined;

  constructor(
    private readonly core: SessionCore,
    private readonly files: FilesPort,
    private readonly kv: KeyValueStore,
  ) {}

  async complete(viewer: Viewer, sessionId: string): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, sessionId);
    if (row.status === 'COMPLETED') return this.core.dto(row);
    if (row.status !== 'UPLOADING' && row.status !== 'PENDING') throw this.core.refuse(row, 'complete');
    await this.core.ensureReceipts(row);
    const receipts = await this.core.receipts.all(row.id);
    const missing = Array.from({ length: row.chunkCount }, (_, i) => i).filter((i) => !receipts.has(i));
    if (missing.length > 0) {
      throw new AppError('BAD_INPUT', `${missing.length} chunk(s) missing`, { details: { reason: 'chunks_missing', missing: missing.slice(0, 1000) } });
    }
    const ordered = [...receipts.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
    const digests = ordered.every((r) => r.digests) ? ordered.flatMap((r) => r.digests ?? []).map((d) => Buffer.from(d, 'hex')) : null;
    const computed = digests ? combineBlockDigests(digests) : null;
    if (computed && row.contentHash && computed !== row.contentHash) throw hashMismatch(computed);
    if (!(await this.core.transition(row, ['UPLOADING', 'PENDING'], 'COMPLETING'))) throw this.core.refuse(row, 'complete');

    const store = this.core.storage.store(row.backend);
    try {
      await store.completeMultipart(row.storageKey, row.multipartId, ordered.map((r, i) => ({ partNumber: i + 1, etag: r.etag })));
    } catch (error) {
      // The multipart upload is still open: the person can retry or resend.
      await this.core.transition(row, ['COMPLETING'], 'UPLOADING');
      throw error;
    }
    // Chunks rebuilt from listParts carry no digests: read the stored object back to hash it.
    const contentHash = computed ?? (await this.hashStored(row));
    if (row.contentHash && contentHash !== row.contentHash) {
      await store.delete(row.storageKey).catch(() => undefined);
      const multipartId = await store.createMultipart(row.storageKey);
      await this.core.receipts.clear(row.id);
      await this.core.receipts.init(row.id);
      await this.core.transition(row, ['COMPLETING'], 'UPLOADING', { multipartId });
      throw hashMismatch(contentHash);
    }
    try {
      const { file, duplicate } = await this.files.commitFile({
        parentId: row.parentId, name: row.name, size: Number(row.size), contentHash, mimeType: row.mimeType, backend: row.backend, storageKey: row.storageKey,
      });
      if (duplicate) await store.delete(duplicate.storageKey).catch(() => undefined);
      await this.finish(row, file.id, { contentHash });
    } catch (error) {
      await store.delete(row.storageKey).catch(() => undefined);
      const reason = error instanceof AppError ? `${error.code}: ${error.message}` : 'commit failed';
      await this.core.transition(row, ['COMPLETING'], 'FAILED', { failureReason: reason.slice(0, 255) });
      await this.core.receipts.clear(row.id);
      throw error;
    }
    await this.afterComplete?.({ backend: row.backend, contentHash, size: Number(row.size) }).catch(() => undefined);
    return this.core.dto(row);
  }

  async prove(viewer: Viewer, sessionId: string, proofs: string[]): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, sessionId);
    if (row.status === 'COMPLETED') return this.core.dto(row);
    if (row.status !== 'PENDING' && row.status !== 'UPLOADING') throw this.core.refuse(row, 'prove ownership');
    if (!row.contentHash || !row.challengeNonce || !row.challengeRanges) {
      throw new AppError('BAD_INPUT', 'This session has no challenge: create it with a contentHash', { details: { reason: 'no_challenge' } });
    }
    const perMinute = await this.kv.incr(`up:proofs:${viewer.userId}`, 60_000);
    if (perMinute > PROOFS_PER_MINUTE || row.proofAttempts >= PROOFS_PER_SESSION) {
      throw new AppError('RATE_LIMITED', 'Too many ownership proofs; upload the file instead', { retryAfter: 60, details: { reason: 'proof_attempts' } });
    }
    await this.core.repo.update(row.id, { proofAttempts: row.proofAttempts + 1 });
    const ranges = JSON.parse(row.challengeRanges) as ChallengeRange[];
    const blob = await this.files.blobFor(row.contentHash, Number(row.size));
    if (!blob || proofs.length !== ranges.length || !(await this.verify(blob, row.challengeNonce, ranges, proofs))) {
      // Unknown content and a wrong proof look the same: go on uploading.
      return this.core.dto(row);
    }
    const { file } = await this.files.commitFile({
      parentId: row.parentId, name: row.name, size: Number(row.size), contentHash: row.contentHash, mimeType: row.mimeType, backend: blob.backend, storageKey: blob.storageKey,
    });
    if (row.multipartId) await this.core.storage.store(row.backend).abortMultipart(row.storageKey, row.multipartId).catch(() => undefined);
    await this.finish(row, file.id, { backend: blob.backend, storageKey: blob.storageKey });
    return this.core.dto(row);
  }

  private async finish(row: UploadSessionRow, fileId: string, changes: Partial<UploadSessionRow>): Promise<void> {
    await this.core.transition(row, ['COMPLETING', 'PENDING', 'UPLOADING'], 'COMPLETED', { ...changes, fileId });
    await this.core.receipts.clear(row.id);
  }

  private async verify(blob: { backend: string; storageKey: string }, nonce: string, ranges: ChallengeRange[], proofs: string[]): Promise<boolean> {
    const store = this.core.storage.store(blob.backend);
    // The ranges are read in parallel: this sits on the instant-upload path.
    const results = await Promise.all(
      ranges.map(async (range, i) => {
        const hash = createHash('sha256').update(Buffer.from(nonce, 'utf8'));
        const { body } = await store.get(blob.storageKey, { start: range.offset, end: range.offset + range.length - 1 });
        await pipeline(body, new Writable({ write: (chunk: Buffer, _e, cb) => (hash.update(chunk), cb()) }));
        const given = Buffer.from(/^[0-9a-f]{64}$/.test(proofs[i] ?? '') ? (proofs[i] as string) : '00'.repeat(32), 'hex');
        return timingSafeEqual(hash.digest(), given);
      }),
    );
    return results.every(Boolean);
  }

  private async hashStored(row: UploadSessionRow): Promise<string> {
    const { body } = await this.core.storage.store(row.backend).get(row.storageKey);
    const hasher = new BlockHasher();
    await pipeline(body, hasher, new Writable({ write: (_c, _e, cb) => cb() }));
    return hasher.contentHash();
  }
}

function hashMismatch(computed: string): AppError {
  return new AppError('BAD_INPUT', 'The chunks do not add up to the declared content hash; resend the chunks that differ', {
    details: { reason: 'content_hash_mismatch', computed },
  });
}
