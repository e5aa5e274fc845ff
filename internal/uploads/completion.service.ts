/**
 * Finishing an upload session, two ways:
 * - completeUpload: every chunk present, the content hash verified from the block digests the
 *   server computed itself, the backend multipart completed into one verified object (assembled),
 *   the file committed (upload-commit.service.ts: quota charged, blob recorded or shared). A backend failure puts the
 *   session back to UPLOADING: resumable; a file that cannot be placed (name taken, folder
 *   trashed, quota) keeps its assembled bytes. A crash mid-way: completion-recovery.service.ts.
 * - proveOwnership (instant upload, 秒传): the client proves it holds the bytes of a blob the
 *   store already has by hashing the challenge's ranges with the nonce; the file links to that
 *   blob and no byte is sent. A wrong proof and an unknown hash give the same answer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import { RateLimiter, type Budget } from '../platform/rate-limit.ts';
import type { Viewer } from '../platform/request-context.ts';
import { combineBlockDigests } from '../files/content-hash.ts';
import { hashStored, restartUpload } from './completion-recovery.service.ts';
import type { FilesPort, StoredBlob } from './files.port.ts';
import { ProofPacer } from './proof.pacer.ts';
import type { SessionCore, UploadSessionDto, UploadsDeps } from './session.core.ts';
import { isActive } from './session-status.machine.ts';
import { commitUpload } from './upload-commit.service.ts';
import { meteredCompletion } from './upload.metering.ts';
import type { UploadMeter } from '../platform/metrics.ts';
import type { ChallengeRange } from './upload-plan.rules.ts';
import type { UploadSessionRow } from './uploads.entities.ts';

export const PROOFS_PER_SESSION = 5;
export const PROOFS_PER_MINUTE = 30;

export class CompletionService {
  /**
   * Called once a completion has committed its file, with where the bytes landed (the transfer
   * service queues the move off a staging backend here). Its failure never fails the upload.
   */
  afterComplete: ((stored: { backend: string; contentHash: string; size: number }) => Promise<void>) | undefined;
  /** Refused proofs take as long for unknown content as for stored content (proof.pacer.ts). */
  private readonly pacer = new ProofPacer();

  constructor(
    private readonly core: SessionCore,
    private readonly deps: UploadsDeps,
    private readonly files: FilesPort,
    private readonly kv: KeyValueStore,
    /** stratus_upload_completions_total: each completion that did not find the session already completed. */
    private readonly meter?: UploadMeter,
  ) {}

  /**
   * `place` puts the file under another name or folder than createUpload said (null: the root):
   * how a client finishes a session whose name was taken, or whose folder was trashed, meanwhile.
   */
  async complete(viewer: Viewer, sessionId: string, place: Placement = {}): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, sessionId);
    if (row.status === 'COMPLETED') return this.core.dto(row);
    return meteredCompletion(this.meter, () => this.completeActive(row, place));
  }

  private async completeActive(row: UploadSessionRow, place: Placement): Promise<UploadSessionDto> {
    if (!isActive(row.status)) throw this.core.refuse(row, 'complete');
    if (place.name !== undefined || place.parentId !== undefined) await this.place(row, place);
    const { receipts } = this.deps;
    const lease = await receipts.leaseCompletion(row.id);
    if (!lease) throw new AppError('CONFLICT', 'This upload is being completed by another request', { details: { reason: 'session_completing' }, retryAfter: 1 });
    const renew = setInterval(() => void receipts.renewCompletion(row.id, lease).catch(() => undefined), 10_000);
    try {
      if (row.assembledHash) {
        if (!(await this.core.moveTo(row, 'COMPLETING'))) throw this.core.refuse(row, 'complete');
      } else {
        await this.assemble(row);
      }
      await this.commit(row);
    } finally {
      clearInterval(renew);
      await receipts.releaseCompletion(row.id, lease);
    }
    await this.afterComplete?.({ backend: row.backend, contentHash: row.assembledHash ?? '', size: Number(row.size) }).catch(() => undefined);
    return this.core.dto(row);
  }

  private async place(row: UploadSessionRow, place: Placement): Promise<void> {
    const target = await this.files.childByName(place.parentId !== undefined ? place.parentId : row.parentId, place.name ?? row.name);
    if (target.existing) throw new AppError('CONFLICT', `An item named "${target.name}" already exists in this folder`, { details: { field: 'name', reason: 'name_taken' } });
    await this.deps.sessions.update(row.id, { parentId: target.parentId, name: target.name });
    Object.assign(row, { parentId: target.parentId, name: target.name });
  }

  /**
   * Every chunk present and its digests adding up → COMPLETING → the backend's complete → the
   * stored bytes verified and marked assembled. A backend failure leaves the multipart upload open
   * and the session UPLOADING: resumable.
   */
  private async assemble(row: UploadSessionRow): Promise<void> {
    const { ordered, computed } = await this.checkedParts(row);
    if (!(await this.core.moveTo(row, 'COMPLETING'))) throw this.core.refuse(row, 'complete');
    // A resend that took its chunk's lock before the move to COMPLETING may still be writing its
    // part: assembling now could take a part its receipt does not describe.
    if ((await this.deps.receipts.locksHeld(row.id, row.chunkCount)) > 0) {
      await this.core.transition(row, ['COMPLETING'], 'UPLOADING');
      throw new AppError('CONFLICT', 'A chunk of this upload is being sent; complete once it is in', { details: { reason: 'chunk_in_progress' }, retryAfter: 1 });
    }
    const store = this.deps.storage.store(row.backend);
    try {
      await store.completeMultipart(row.storageKey, row.multipartId, ordered.map((r, i) => ({ partNumber: i + 1, etag: r.etag })));
    } catch (error) {
      await this.core.transition(row, ['COMPLETING'], 'UPLOADING');
      throw error;
    }
    // Chunks rebuilt from listParts carry no digests: read the stored object back to hash it.
    const contentHash = computed ?? (await hashStored(this.deps, row));
    if (row.contentHash && contentHash !== row.contentHash) {
      await restartUpload(this.core, this.deps, row, 'COMPLETING');
      throw hashMismatch(contentHash);
    }
    await this.deps.sessions.update(row.id, { assembledHash: contentHash, multipartId: '' });
    Object.assign(row, { assembledHash: contentHash, multipartId: '' });
  }

  /**
   * The receipts of every chunk in order, and the content hash their block digests combine to
   * (null when some were rebuilt from listParts, without digests): chunks missing or a hash that
   * differs from the declared one refuse the completion before anything changes.
   */
  private async checkedParts(row: UploadSessionRow) {
    await this.core.ensureReceipts(row);
    const receipts = await this.deps.receipts.all(row.id);
    const missing = Array.from({ length: row.chunkCount }, (_, i) => i).filter((i) => !receipts.has(i));
    if (missing.length > 0) {
      throw new AppError('BAD_INPUT', `${missing.length} chunk(s) missing`, { details: { reason: 'chunks_missing', missing: missing.slice(0, 1000) } });
    }
    const ordered = [...receipts.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
    const digests = ordered.every((r) => r.digests) ? ordered.flatMap((r) => r.digests ?? []).map((d) => Buffer.from(d, 'hex')) : null;
    const computed = digests ? combineBlockDigests(digests) : null;
    if (computed && row.contentHash && computed !== row.contentHash) throw hashMismatch(computed);
    return { ordered, computed };
  }

  /**
   * Places the assembled bytes as the file (the one commit path). Whatever goes wrong here, the
   * bytes stay: the session returns to UPLOADING with every chunk in, and completing again (under
   * another name or folder when the name was taken or the folder trashed) only places it.
   */
  private async commit(row: UploadSessionRow): Promise<void> {
    const contentHash = row.assembledHash ?? '';
    await commitUpload(
      { files: this.files, storage: this.deps.storage },
      { id: row.id, parentId: row.parentId, name: row.name, size: Number(row.size), contentHash, mimeType: row.mimeType, backend: row.backend, storageKey: row.storageKey, uploadLinkId: row.uploadLinkId },
      {
        bytes: 'session',
        refused: async () => {
          await this.core.transition(row, ['COMPLETING'], 'UPLOADING');
        },
        committed: async (file) => {
          await this.finish(row, file.id, { contentHash, name: file.name });
          // A file drop: the link counts the file as arrived and tells its owner (upload-links.port.ts).
          if (row.uploadLinkId) await this.deps.links?.arrived(row.id, file);
        },
        // A file drop never fails on a name that arrived meanwhile: it becomes `name (1).ext` ….
        conflict: row.uploadLinkId ? 'RENAME' : (row.conflict ?? 'FAIL'),
      },
    );
  }

  async prove(viewer: Viewer, sessionId: string, proofs: string[]): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, sessionId);
    if (row.status === 'COMPLETED') return this.core.dto(row);
    if (!isActive(row.status)) throw this.core.refuse(row, 'prove ownership');
    const challenge = challengeOf(row);
    // Every byte is already here and assembled: completeUpload places it, nothing to prove.
    if (row.assembledHash) return this.core.dto(row);
    await this.countProof(viewer, row);
    const startedAt = performance.now();
    const blob = await this.files.blobFor(challenge.contentHash, Number(row.size));
    const proven = blob !== null && proofs.length === challenge.ranges.length && (await this.verify(blob, challenge.nonce, challenge.ranges, proofs));
    if (blob) this.pacer.record(performance.now() - startedAt);
    if (!blob || !proven) {
      // Unknown content and a wrong proof look the same, in the answer and in its timing: go on uploading.
      await this.pacer.pad(startedAt);
      return this.core.dto(row);
    }
    await commitUpload(
      { files: this.files, storage: this.deps.storage },
      { id: row.id, parentId: row.parentId, name: row.name, size: Number(row.size), contentHash: challenge.contentHash, mimeType: row.mimeType, backend: blob.backend, storageKey: blob.storageKey },
      {
        bytes: 'stored',
        conflict: row.conflict ?? 'FAIL',
        committed: async (file) => {
          if (row.multipartId) await this.deps.storage.store(row.backend).abortMultipart(row.storageKey, row.multipartId).catch(() => undefined);
          await this.finish(row, file.id, { backend: blob.backend, storageKey: blob.storageKey });
        },
      },
    );
    return this.core.dto(row);
  }

  /** A person has PROOFS_PER_MINUTE proofs a minute, and a session PROOFS_PER_SESSION in all. */
  private async countProof(viewer: Viewer, row: UploadSessionRow): Promise<void> {
    const limiter = new RateLimiter(this.kv);
    const proofs: Budget = {
      key: `up:proofs:${viewer.userId}`,
      limit: PROOFS_PER_MINUTE,
      windowMs: 60_000,
      retryAfterMs: 60_000,
      reason: 'proof_attempts',
      message: 'Too many ownership proofs; upload the file instead',
    };
    await limiter.take(proofs);
    if (row.proofAttempts >= PROOFS_PER_SESSION) throw await limiter.refusal(proofs);
    await this.deps.sessions.update(row.id, { proofAttempts: row.proofAttempts + 1 });
  }

  private async finish(row: UploadSessionRow, fileId: string, changes: Partial<UploadSessionRow>): Promise<void> {
    await this.core.moveTo(row, 'COMPLETED', { ...changes, fileId });
    await this.deps.receipts.clear(row.id);
  }

  private async verify(blob: StoredBlob, nonce: string, ranges: ChallengeRange[], proofs: string[]): Promise<boolean> {
    const store = this.deps.storage.store(blob.backend);
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
}

export interface Placement {
  name?: string;
  /** null: the root folder. */
  parentId?: string | null;
}

/** The session's ownership challenge; a session created without a contentHash has none. */
function challengeOf(row: UploadSessionRow): { contentHash: string; nonce: string; ranges: ChallengeRange[] } {
  if (!row.contentHash || !row.challengeNonce || !row.challengeRanges) {
    throw new AppError('BAD_INPUT', 'This session has no challenge: create it with a contentHash', { details: { reason: 'no_challenge' } });
  }
  return { contentHash: row.contentHash, nonce: row.challengeNonce, ranges: JSON.parse(row.challengeRanges) as ChallengeRange[] };
}

function hashMismatch(computed: string): AppError {
  return new AppError('BAD_INPUT', 'The chunks do not add up to the declared content hash; resend the chunks that differ', {
    details: { reason: 'content_hash_mismatch', computed },
  });
}
