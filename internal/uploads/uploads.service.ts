/**
 * Upload sessions: creation (quota, name, chunk plan, backend multipart, ownership challenge),
 * reading, listing, pause, resume and cancel. Chunks: chunks.service.ts; completion and instant
 * upload: completion.service.ts.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { newBlobKey } from '../files/blobs.writer.ts';
import { recoverCompletion } from './completion-recovery.service.ts';
import type { FilesPort } from './files.port.ts';
import type { SessionCore, UploadSessionDto } from './session.core.ts';
import { declaredBlockHashes, newChallenge, planChunks } from './upload-plan.rules.ts';
import { UploadSessionRow } from './uploads.entities.ts';

export interface CreateUploadInput {
  parentId: string | null;
  name: string;
  size: number;
  contentHash?: string | null;
  chunkSize?: number | null;
  mimeType?: string | null;
  blockHashes?: string[] | null;
}

/** Unfinished sessions one person may hold at once (each holds a backend multipart upload). */
export const MAX_OPEN_SESSIONS = 1000;

export class UploadsService {
  constructor(
    private readonly core: SessionCore,
    private readonly files: FilesPort,
  ) {}

  async create(viewer: Viewer, input: CreateUploadInput): Promise<UploadSessionDto> {
    const { name, parentId, existing } = await this.files.childByName(input.parentId, input.name);
    const { name: backend, store } = this.core.storage.defaultBackend();
    const plan = planChunks(input.size, input.chunkSize ?? undefined, store.capabilities);
    const blockHashes = input.blockHashes ? declaredBlockHashes(input.size, input.contentHash, input.blockHashes) : null;
    const now = this.core.now();
    const row: UploadSessionRow = Object.assign(new UploadSessionRow(), {
      id: randomUUID(), ownerId: viewer.userId, parentId, name, size: input.size, chunkSize: plan.chunkSize, chunkCount: plan.chunkCount,
      contentHash: input.contentHash ?? null, mimeType: input.mimeType ?? null, status: 'PENDING' as UploadSessionRow['status'], backend, storageKey: '', multipartId: '',
      fileId: null as string | null, challengeNonce: null as string | null, challengeRanges: null as string | null, proofAttempts: 0, failureReason: null as string | null, blockHashes, assembledHash: null as string | null, createdAt: now, updatedAt: now, expiresAt: this.core.expiry(),
    });
    if (existing) {
      // The same person already keeps this very file here: nothing to upload, answer at once.
      if (!existing.isFolder && input.contentHash && existing.contentHash === input.contentHash && existing.size === input.size) {
        Object.assign(row, { status: 'COMPLETED', fileId: existing.id });
        await this.core.repo.insert(row);
        return this.core.dto(row);
      }
      throw new AppError('CONFLICT', `An item named "${name}" already exists in this folder`, { details: { field: 'name', reason: 'name_taken' } });
    }
    // Unfinished sessions reserve their whole size: chunks must never be stored beyond the quota.
    const [quota, reserved] = await Promise.all([this.files.quota(), this.core.repo.reservedBytes(viewer.userId)]);
    const overQuota = (held: number) =>
      new AppError('QUOTA_EXCEEDED', 'Not enough storage space left for this file (unfinished uploads hold part of it)', {
        details: { used: quota.used, reserved: held, limit: quota.limit, needed: input.size },
      });
    if (quota.used + reserved + input.size > quota.limit) throw overQuota(reserved);
    const tooMany = () => new AppError('RATE_LIMITED', `At most ${MAX_OPEN_SESSIONS} unfinished uploads at once; finish or cancel some`, { details: { reason: 'too_many_sessions' } });
    if ((await this.core.repo.countUnfinished(viewer.userId)) >= MAX_OPEN_SESSIONS) throw tooMany();
    row.storageKey = newBlobKey();
    // With a content hash the file may already be stored (instant upload): the backend multipart
    // is then started by the first chunk, which keeps createUpload → proveOwnership fast.
    if (!input.contentHash) row.multipartId = await store.createMultipart(row.storageKey, input.mimeType ? { contentType: input.mimeType } : {});
    if (input.contentHash) {
      // Always a challenge when a hash is given, whether or not such a blob exists: the answer
      // must not tell a stranger which content is stored.
      const challenge = newChallenge(input.size);
      row.challengeNonce = challenge.nonce;
      row.challengeRanges = JSON.stringify(challenge.ranges);
    }
    try {
      await this.core.repo.insert(row);
      // The count above and the insert are not atomic, so a burst of creations could all pass it.
      // Counted again with this row in: over the limit, this one backs out (in a race several
      // may, but never too many stay).
      if ((await this.core.repo.countUnfinished(viewer.userId)) > MAX_OPEN_SESSIONS) {
        await this.core.repo.delete(row.id);
        throw tooMany();
      }
      // The same for the reservation: a burst of creations each saw room for itself.
      const held = await this.core.repo.reservedBytes(viewer.userId);
      if (quota.used + held > quota.limit) {
        await this.core.repo.delete(row.id);
        throw overQuota(held - input.size);
      }
      await this.core.receipts.init(row.id);
    } catch (error) {
      if (row.multipartId) await store.abortMultipart(row.storageKey, row.multipartId).catch(() => undefined);
      throw error;
    }
    return this.core.dto(row);
  }

  async get(viewer: Viewer, id: string): Promise<UploadSessionDto> {
    return this.core.dto(await this.core.load(viewer, id));
  }

  /**
   * The viewer's unfinished sessions. One session the backend cannot describe right now (its
   * receipts unreadable) is listed from its row alone rather than failing the whole list.
   */
  async list(viewer: Viewer): Promise<UploadSessionDto[]> {
    const rows = await this.core.repo.listUnfinished(viewer.userId);
    return Promise.all(
      rows.map(async (row) => {
        try {
          if (row.status === 'COMPLETING') await recoverCompletion(this.core, row);
          return await this.core.dto(row);
        } catch {
          return this.core.dto(row, { receipts: false });
        }
      }),
    );
  }

  /** What the viewer's unfinished sessions hold against the quota. */
  async reserved(viewer: Viewer): Promise<{ bytes: number }> {
    return { bytes: await this.core.repo.reservedBytes(viewer.userId) };
  }

  /** The current progress snapshot (subscriptions start with it). */
  async progress(viewer: Viewer, id: string) {
    return this.core.progress(await this.core.load(viewer, id));
  }

  async pause(viewer: Viewer, id: string): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, id);
    if (row.status === 'PAUSED') return this.core.dto(row);
    if (!(await this.core.transition(row, ['PENDING', 'UPLOADING'], 'PAUSED'))) throw this.core.refuse(row, 'pause');
    return this.core.dto(row);
  }

  /** Resumes a paused session; the answer's missingChunks say what is left to send. */
  async resume(viewer: Viewer, id: string): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, id);
    if (row.status === 'PENDING' || row.status === 'UPLOADING') {
      await this.core.repo.update(row.id, { expiresAt: this.core.expiry() });
      return this.core.dto(row);
    }
    if (!(await this.core.transition(row, ['PAUSED'], 'UPLOADING', { expiresAt: this.core.expiry() }))) throw this.core.refuse(row, 'resume');
    await this.core.receipts.touch(row.id);
    return this.core.dto(row);
  }

  /** Aborts the backend multipart and removes every key and the row: nothing stays stored or billed. */
  async cancel(viewer: Viewer, id: string): Promise<boolean> {
    const row = await this.core.load(viewer, id);
    if (row.status === 'COMPLETED' || row.status === 'COMPLETING') throw this.core.refuse(row, 'cancel');
    if (!(await this.core.transition(row, ['PENDING', 'UPLOADING', 'PAUSED', 'FAILED', 'EXPIRED'], 'CANCELLED'))) throw this.core.refuse(row, 'cancel');
    await this.core.dropBytes(row);
    await this.core.receipts.clear(row.id);
    await this.core.repo.delete(row.id);
    return true;
  }
}
