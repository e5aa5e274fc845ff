/**
 * Upload sessions: creation (quota, name, chunk plan, backend multipart, ownership challenge),
 * reading, listing, pause, resume and cancel. Chunks: chunks.service.ts; completion and instant
 * upload: completion.service.ts.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { newBlobKey } from '../files/blobs.writer.ts';
import type { FileDto } from '../files/index.ts';
import type { FilesPort } from './files.port.ts';
import type { ConflictPolicy } from './upload-commit.service.ts';
import { conflictAllows } from './upload-conflict.rules.ts';
import type { SessionCore, UploadSessionDto, UploadsDeps } from './session.core.ts';
import { declaredBlockHashes, newChallenge, planChunks } from './upload-plan.rules.ts';
import { UploadSessionRow } from './uploads.entities.ts';
import type { UploadLinksPort } from './upload-links/upload-links.port.ts';

export interface CreateUploadInput {
  parentId: string | null;
  name: string;
  size: number;
  contentHash?: string | null;
  chunkSize?: number | null;
  mimeType?: string | null;
  blockHashes?: string[] | null;
  /** The upload link (file drop) the session arrives through; stored on the session. */
  uploadLinkId?: string | null;
  /** A tus upload's Upload-Metadata ('' for none); marks the session as a tus upload (tus/tus.service.ts). */
  tusMetadata?: string | null;
  /** What completing does when the name is taken (issue 22); FAIL when not given. */
  conflict?: ConflictPolicy | null;
}

/** Unfinished sessions one person may hold at once (each holds a backend multipart upload). */
export const MAX_OPEN_SESSIONS = 1000;

type Quota = Awaited<ReturnType<FilesPort['quota']>>;

export class UploadsService {
  constructor(
    private readonly core: SessionCore,
    private readonly deps: UploadsDeps,
    private readonly files: FilesPort,
  ) {}

  async create(viewer: Viewer, input: CreateUploadInput): Promise<UploadSessionDto> {
    const { name, parentId, existing } = await this.placement(viewer, input);
    const { name: backend, store } = this.deps.storage.defaultBackend();
    const plan = planChunks(input.size, input.chunkSize ?? undefined, store.capabilities);
    const blockHashes = input.blockHashes ? declaredBlockHashes(input.size, input.contentHash, input.blockHashes) : null;
    const row = this.newRow(viewer, input, { name, parentId, backend, blockHashes, ...plan });
    if (existing) return this.alreadyThere(row, existing);
    // Unfinished sessions reserve their whole size: chunks must never be stored beyond the quota.
    const [quota, reserved] = await Promise.all([this.files.quota(), this.deps.sessions.reservedBytes(viewer.userId)]);
    if (quota.used + reserved + input.size > quota.limit) throw overQuota(quota, reserved, input.size);
    if ((await this.deps.sessions.countUnfinished(viewer.userId)) >= MAX_OPEN_SESSIONS) throw tooMany();
    // A file drop's limits are counted before anything is stored (upload-links.port.ts reserve).
    if (input.uploadLinkId) await this.links().reserve(input.uploadLinkId, row.id, input.size);
    row.storageKey = newBlobKey();
    // With a content hash the file may already be stored (instant upload): the backend multipart
    // is then started by the first chunk, which keeps createUpload → proveOwnership fast.
    if (!input.contentHash) row.multipartId = await store.createMultipart(row.storageKey, input.mimeType ? { contentType: input.mimeType } : {}).catch(this.released(row));
    if (input.contentHash) {
      // Always a challenge when a hash is given, whether or not such a blob exists: the answer
      // must not tell a stranger which content is stored.
      const challenge = newChallenge(input.size);
      row.challengeNonce = challenge.nonce;
      row.challengeRanges = JSON.stringify(challenge.ranges);
    }
    try {
      await this.insertWithinLimits(viewer, row, quota);
    } catch (error) {
      if (row.multipartId) await store.abortMultipart(row.storageKey, row.multipartId).catch(() => undefined);
      await this.deps.links?.release(row.id).catch(() => undefined);
      throw error;
    }
    return this.core.dto(row);
  }

  /**
   * Where the file goes: the folder named, or, through a file drop, the link's folder (checked:
   * the viewer's, live) under a free name — a clash becomes `name (1).ext` (upload-links.port.ts).
   */
  private async placement(viewer: Viewer, input: CreateUploadInput): Promise<{ name: string; parentId: string; existing: FileDto | null }> {
    if (!input.uploadLinkId) {
      const found = await this.files.childByName(input.parentId, input.name);
      // RENAME and NEW_VERSION place the file at completion (upload-commit.service.ts), so a taken
      // name is no clash now; NEW_VERSION still refuses a folder of that name, and the very same
      // content is still answered at once (alreadyThere).
      return conflictAllows(input.conflict, found.existing, input) ? { ...found, existing: null } : found;
    }
    return { ...(await this.links().admit(viewer, input.uploadLinkId, input.name)), existing: null };
  }

  private links(): UploadLinksPort {
    if (!this.deps.links) throw new AppError('INTERNAL', 'Upload links are not wired into this uploads service');
    return this.deps.links;
  }

  /** A failure after the link's reservation gives it back before it is thrown on. */
  private released(row: UploadSessionRow) {
    return async (error: unknown): Promise<never> => {
      await this.deps.links?.release(row.id).catch(() => undefined);
      throw error;
    };
  }

  private newRow(
    viewer: Viewer,
    input: CreateUploadInput,
    at: { name: string; parentId: string; backend: string; blockHashes: string | null; chunkSize: number; chunkCount: number },
  ): UploadSessionRow {
    const now = this.core.now();
    return Object.assign(new UploadSessionRow(), {
      id: randomUUID(), ownerId: viewer.userId, parentId: at.parentId, name: at.name, size: input.size, chunkSize: at.chunkSize, chunkCount: at.chunkCount,
      contentHash: input.contentHash ?? null, mimeType: input.mimeType ?? null, status: 'PENDING' as UploadSessionRow['status'], backend: at.backend, storageKey: '', multipartId: '',
      fileId: null as string | null, challengeNonce: null as string | null, challengeRanges: null as string | null, proofAttempts: 0, failureReason: null as string | null, blockHashes: at.blockHashes, assembledHash: null as string | null,
      uploadLinkId: input.uploadLinkId ?? null, tusMetadata: input.tusMetadata ?? null, conflict: input.conflict ?? 'FAIL', createdAt: now, updatedAt: now, expiresAt: this.core.expiry(),
    });
  }

  /** An item of that name is in the folder: the very file (answered at once, nothing to upload), or a clash. */
  private async alreadyThere(row: UploadSessionRow, existing: FileDto): Promise<UploadSessionDto> {
    if (!existing.isFolder && row.contentHash && existing.contentHash === row.contentHash && existing.size === Number(row.size)) {
      Object.assign(row, { status: 'COMPLETED', fileId: existing.id });
      await this.deps.sessions.insert(row);
      return this.core.dto(row);
    }
    throw new AppError('CONFLICT', `An item named "${row.name}" already exists in this folder`, { details: { field: 'name', reason: 'name_taken' } });
  }

  /**
   * The count and the reservation checked before the insert are not atomic with it, so a burst of
   * creations could all pass them: both are checked again with this row in, and over a limit this
   * one backs out (in a race several may, but never too many stay).
   */
  private async insertWithinLimits(viewer: Viewer, row: UploadSessionRow, quota: Quota): Promise<void> {
    await this.deps.sessions.insert(row);
    if ((await this.deps.sessions.countUnfinished(viewer.userId)) > MAX_OPEN_SESSIONS) {
      await this.deps.sessions.delete(row.id);
      throw tooMany();
    }
    const held = await this.deps.sessions.reservedBytes(viewer.userId);
    if (quota.used + held > quota.limit) {
      await this.deps.sessions.delete(row.id);
      throw overQuota(quota, held - Number(row.size), Number(row.size));
    }
    await this.deps.receipts.init(row.id);
  }

  async get(viewer: Viewer, id: string): Promise<UploadSessionDto> {
    return this.core.dto(await this.core.load(viewer, id));
  }

  /**
   * The viewer's unfinished sessions. One session the backend cannot describe right now (its
   * receipts unreadable) is listed from its row alone rather than failing the whole list.
   */
  async list(viewer: Viewer): Promise<UploadSessionDto[]> {
    const rows = await this.deps.sessions.listUnfinished(viewer.userId);
    return Promise.all(
      rows.map(async (row) => {
        try {
          if (row.status === 'COMPLETING') await this.core.recover(row);
          return await this.core.dto(row);
        } catch {
          return this.core.dto(row, { receipts: false });
        }
      }),
    );
  }

  /**
   * The pre-checks of a one-request upload (uploadFile) in one call: the files service's answer
   * (folder, name free, quota, the folder's path) and what unfinished sessions reserve, read in
   * parallel. A refused name is the answer even when the reservation read failed too.
   */
  async oneRequestTarget(viewer: Viewer, parentId: string | null, name: string) {
    const [target, reserved] = await Promise.allSettled([this.files.uploadTarget(parentId, name), this.deps.sessions.reservedBytes(viewer.userId)]);
    if (target.status === 'rejected') throw target.reason;
    if (reserved.status === 'rejected') throw reserved.reason;
    return { ...target.value, reserved: reserved.value };
  }

  /** What the viewer's unfinished sessions hold against the quota. */
  async reserved(viewer: Viewer): Promise<{ bytes: number }> {
    return { bytes: await this.deps.sessions.reservedBytes(viewer.userId) };
  }

  /** The current progress snapshot (subscriptions start with it). */
  async progress(viewer: Viewer, id: string) {
    return this.core.progress(await this.core.load(viewer, id));
  }

  async pause(viewer: Viewer, id: string): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, id);
    if (row.status === 'PAUSED') return this.core.dto(row);
    if (!(await this.core.moveTo(row, 'PAUSED'))) throw this.core.refuse(row, 'pause');
    return this.core.dto(row);
  }

  /** Resumes a paused session; the answer's missingChunks say what is left to send. */
  async resume(viewer: Viewer, id: string): Promise<UploadSessionDto> {
    const row = await this.core.load(viewer, id);
    if (row.status === 'PENDING' || row.status === 'UPLOADING') {
      await this.deps.sessions.update(row.id, { expiresAt: this.core.expiry() });
      return this.core.dto(row);
    }
    if (!(await this.core.transition(row, ['PAUSED'], 'UPLOADING', { expiresAt: this.core.expiry() }))) throw this.core.refuse(row, 'resume');
    await this.deps.receipts.touch(row.id);
    return this.core.dto(row);
  }

  /** Aborts the backend multipart and removes every key and the row: nothing stays stored or billed. */
  async cancel(viewer: Viewer, id: string): Promise<boolean> {
    const row = await this.core.load(viewer, id);
    if (row.status === 'COMPLETED' || row.status === 'COMPLETING') throw this.core.refuse(row, 'cancel');
    if (!(await this.core.moveTo(row, 'CANCELLED'))) throw this.core.refuse(row, 'cancel');
    await this.core.dropBytes(row);
    await this.deps.receipts.clear(row.id);
    await this.deps.sessions.delete(row.id);
    return true;
  }
}

function overQuota(quota: Quota, reserved: number, needed: number): AppError {
  return new AppError('QUOTA_EXCEEDED', 'Not enough storage space left for this file (unfinished uploads hold part of it)', {
    details: { used: quota.used, reserved, limit: quota.limit, needed },
  });
}

function tooMany(): AppError {
  return new AppError('RATE_LIMITED', `At most ${MAX_OPEN_SESSIONS} unfinished uploads at once; finish or cancel some`, { details: { reason: 'too_many_sessions' } });
}
