/**
 * tus uploads on top of upload sessions: a tus upload IS an upload session (same row, receipts,
 * multipart upload, progress events, sweeper, commit path); this service adds what tus needs
 * beside it — the offset (recorded chunks + stored tail), the tail's record, a lock per upload
 * so two requests never write one upload at once, termination, and the empty upload.
 *
 * Every call names the principal's upload link (null for /tus/): a session answers NOT_FOUND
 * unless it arrived through that very link, so /tus/ cannot reach file-drop sessions and a link
 * cannot reach another link's (or the owner's own) uploads.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { newBlobKey } from '../../files/blobs.writer.ts';
import { BLOCK_SIZE, combineBlockDigests } from '../../files/content-hash.ts';
import { nameTaken } from '../../files/files.statements.ts';
import { AppError } from '../../platform/errors.ts';
import type { Viewer } from '../../platform/request-context.ts';
import type { FilesPort } from '../files.port.ts';
import type { SessionCore, UploadsDeps } from '../session.core.ts';
import { isActive, isUnfinished, type UploadStatus } from '../session-status.machine.ts';
import { commitUpload } from '../upload-commit.service.ts';
import { UploadSessionRow } from '../uploads.entities.ts';
import type { UploadsService } from '../uploads.service.ts';
import { tusTailKey, type TusStateRepository } from './tus-state.repository.ts';
import { chunkLengthOf, tusOffset } from './tus.rules.ts';

/** How long a termination waits for an interrupted PATCH to release the upload (see terminate). */
export const TERMINATE_LOCK_WAIT_MS = 5_000;
const LOCK_POLL_MS = 50;

/** How far the idle expiry must have fallen behind before a tail write moves it (chunks.service.ts does the same). */
const EXPIRY_REFRESH_MS = 60_000;

export interface TusCreate {
  parentId: string | null;
  name: string;
  size: number;
  mimeType: string | null;
  uploadLinkId: string | null;
  /** Upload-Metadata as sent ('' for none), echoed on HEAD. */
  metadata: string;
}

/** Where a tus upload stands, and (for the PATCH writer) where its bytes go. */
export interface TusUploadState {
  id: string;
  status: UploadStatus;
  size: number;
  chunkSize: number;
  chunkCount: number;
  /** Upload-Offset: bytes of the unbroken run of recorded chunks plus the valid tail. */
  offset: number;
  /** The first chunk not recorded (the one the tail, when any, begins). */
  nextIndex: number;
  /** The tail to read back before the body (null: none). */
  tail: { slot: 0 | 1; length: number } | null;
  /** The slot a new tail must NOT overwrite (the recorded one's, even when stale). */
  tailSlot: 0 | 1 | null;
  metadata: string;
  expiresAt: string;
  backend: string;
  storageKey: string;
  multipartId: string;
}

/** One part the PATCH writer uploaded (chunk `index` = part index + 1), for recordPart. */
export interface TusPart {
  id: string;
  lockToken: string;
  multipartId: string;
  index: number;
  etag: string;
  size: number;
  /** SHA-256 of each 4 MiB block, for the content hash at completion. */
  digests: string[];
}

export class TusService {
  constructor(
    private readonly core: SessionCore,
    private readonly deps: UploadsDeps,
    private readonly uploads: UploadsService,
    private readonly files: FilesPort,
    private readonly state: TusStateRepository,
  ) {}

  async create(viewer: Viewer, input: TusCreate): Promise<TusUploadState> {
    if (input.size === 0) return this.createEmpty(viewer, input);
    const dto = await this.uploads.create(viewer, {
      parentId: input.parentId, name: input.name, size: input.size, mimeType: input.mimeType, uploadLinkId: input.uploadLinkId, tusMetadata: input.metadata,
    });
    return this.describe(await this.load(viewer, dto.id, input.uploadLinkId), false);
  }

  /**
   * "The `Upload-Length` header MAY be set to 0 ... Such an upload is immediately complete after
   * its creation": the empty file is committed at once (the one commit path: name, quota, dedup),
   * and a COMPLETED session answers HEAD with offset 0.
   */
  private async createEmpty(viewer: Viewer, input: TusCreate): Promise<TusUploadState> {
    // Through a file drop: the link's folder under a free name, one file reserved against its
    // maxFiles before anything is stored, counted as arrived once committed (upload-links.port.ts).
    const links = input.uploadLinkId ? this.deps.links : undefined;
    const target = links && input.uploadLinkId ? await links.admit(viewer, input.uploadLinkId, input.name) : await this.files.childByName(input.parentId, input.name);
    if ('existing' in target && target.existing) throw nameTaken(target.name);
    const id = randomUUID();
    if (links && input.uploadLinkId) await links.reserve(input.uploadLinkId, id, 0);
    const { name: backend, store } = this.deps.storage.defaultBackend();
    const storageKey = newBlobKey();
    let file: Awaited<ReturnType<typeof commitUpload>>;
    try {
      await store.put(storageKey, Readable.from([]), 0, input.mimeType ? { contentType: input.mimeType } : {});
      file = await commitUpload(
        { files: this.files, storage: this.deps.storage },
        { id, parentId: target.parentId, name: target.name, size: 0, contentHash: combineBlockDigests([]), mimeType: input.mimeType, backend, storageKey, uploadLinkId: input.uploadLinkId },
        { bytes: 'request', conflict: links ? 'RENAME' : 'FAIL' },
      );
    } catch (error) {
      await links?.release(id).catch(() => undefined);
      throw error;
    }
    await links?.arrived(id, file);
    const now = this.core.now();
    const row = Object.assign(new UploadSessionRow(), {
      id, ownerId: viewer.userId, parentId: file.parentId ?? target.parentId, name: file.name, size: 0, chunkSize: 0, chunkCount: 0, contentHash: file.contentHash, mimeType: input.mimeType,
      status: 'COMPLETED' as UploadStatus, backend, storageKey, multipartId: '', fileId: file.id, challengeNonce: null, challengeRanges: null, proofAttempts: 0,
      failureReason: null, blockHashes: null, assembledHash: file.contentHash, uploadLinkId: input.uploadLinkId, tusMetadata: input.metadata, createdAt: now, updatedAt: now, expiresAt: now,
    });
    await this.deps.sessions.insert(row);
    return this.describe(row, false);
  }

  async get(viewer: Viewer, id: string, uploadLinkId: string | null): Promise<TusUploadState> {
    return this.describe(await this.load(viewer, id, uploadLinkId), false);
  }

  /**
   * Takes the upload's write lock (CONFLICT upload_locked while another request holds it) and
   * answers where the upload stands, its multipart upload started. A paused session is resumed:
   * a tus client has no pause of its own; its PATCH is the resume.
   */
  async lock(viewer: Viewer, id: string, uploadLinkId: string | null): Promise<TusUploadState & { lockToken: string }> {
    const row = await this.load(viewer, id, uploadLinkId);
    const lockToken = await this.state.lock(row.id);
    if (!lockToken) throw locked();
    try {
      // Read again only when resuming changed the row: the one read per PATCH otherwise.
      const fresh = row.status === 'PAUSED' ? (await this.uploads.resume(viewer, row.id), await this.load(viewer, id, uploadLinkId)) : row;
      // The PATCH is about to send parts (chunks.service.ts begin does this for a chunk); once
      // here, not in each recordPart, where parts in flight would race for it.
      if (fresh.status === 'PENDING') await this.core.transition(fresh, ['PENDING'], 'UPLOADING');
      return { ...(await this.describe(fresh, true)), lockToken };
    } catch (error) {
      await this.state.unlock(row.id, lockToken);
      throw error;
    }
  }

  /**
   * Renew and unlock act by token alone, without reading the session: the token is 122 random
   * bits handed only to the request that locked the upload (which proved the viewer owns it), and
   * a wrong token changes nothing.
   */
  async renew(_viewer: Viewer, id: string, lockToken: string): Promise<boolean> {
    return this.state.renew(id, lockToken);
  }

  async unlock(_viewer: Viewer, id: string, lockToken: string): Promise<void> {
    await this.state.unlock(id, lockToken);
  }

  /**
   * Records one part the PATCH writer uploaded, in one call and one read of the session (the
   * chunk API needs begin + record, four reads, a chunk lock and its renewals): the writer holds
   * the upload's tus lock, so no other tus request writes it, and the lock is checked here. What
   * chunks.service.ts record checks is checked the same: the chunk's length and its digests, the
   * session UPLOADING (PENDING moves to UPLOADING as begin does), the same multipart upload; the
   * receipt, the idle expiry and the progress event follow as they do there. A part a chunk PUT
   * raced onto the same index cannot corrupt the file: completion names every part by the ETag
   * recorded, and S3 refuses an assembly whose part no longer has it ("InvalidPart").
   */
  async recordPart(viewer: Viewer, input: TusPart): Promise<void> {
    const row = await this.core.load(viewer, input.id);
    if (!(await this.state.holds(row.id, input.lockToken))) throw locked();
    if (row.multipartId !== input.multipartId) {
      throw new AppError('CONFLICT', 'The upload changed meanwhile; ask for its offset again (HEAD)', { details: { reason: 'session_changed' } });
    }
    if (input.index < 0 || input.index >= row.chunkCount || input.size !== chunkLengthOf({ size: Number(row.size), chunkSize: row.chunkSize, chunkCount: row.chunkCount }, input.index)) {
      throw new AppError('BAD_INPUT', 'Chunk receipt does not match the chunk', { details: { reason: 'chunk_length' } });
    }
    if (input.digests.length !== Math.ceil(input.size / BLOCK_SIZE)) throw new AppError('BAD_INPUT', 'Chunk receipt does not match the chunk', { details: { reason: 'chunk_length' } });
    if (row.status !== 'UPLOADING' || row.assembledHash) throw this.core.refuse(row, 'record a chunk');
    // A tus session never declares block hashes (TusCreate has none), so there is nothing to compare.
    await this.deps.receipts.record(row.id, input.index, { etag: input.etag, size: input.size, digests: input.digests });
    const expiresAt = this.core.expiry();
    if (expiresAt.getTime() - row.expiresAt.getTime() >= EXPIRY_REFRESH_MS) await this.deps.sessions.update(row.id, { expiresAt });
    await this.core.publish(row);
  }

  /**
   * Records the tail a PATCH left (already stored in `slot`), or none; the other slot's object goes.
   * Refused when the lock was lost meanwhile: another request writes the upload now.
   */
  async setTail(viewer: Viewer, input: { id: string; lockToken: string; index: number; length: number; slot: 0 | 1 }): Promise<void> {
    const row = await this.core.load(viewer, input.id);
    if (!(await this.state.renew(row.id, input.lockToken))) throw locked();
    await this.state.setTail(row.id, input.length > 0 ? { index: input.index, length: input.length, slot: input.slot } : null);
    // Activity pushes the idle expiry back, as a recorded chunk does (small PATCHes may record none).
    const expiresAt = this.core.expiry();
    if (isUnfinished(row.status) && expiresAt.getTime() - row.expiresAt.getTime() >= EXPIRY_REFRESH_MS) await this.deps.sessions.update(row.id, { expiresAt });
    const store = this.deps.storage.store(row.backend);
    const stale: (0 | 1)[] = input.length > 0 ? [input.slot === 0 ? 1 : 0] : [0, 1];
    await Promise.all(stale.map((slot) => store.delete(tusTailKey(row.storageKey, slot)).catch(() => undefined)));
  }

  /**
   * Termination: the session is cancelled (its multipart upload, tail and receipts go). A PATCH
   * whose client went away still holds the lock while it stores what it received (tus core: "the
   * Server SHOULD ... store the received data" when a PATCH is interrupted), so a DELETE sent
   * right after the cut waits up to TERMINATE_LOCK_WAIT_MS for it instead of answering 423 to a
   * client that does not retry; a PATCH still streaming past that wait keeps the upload (423).
   */
  async terminate(viewer: Viewer, id: string, uploadLinkId: string | null): Promise<void> {
    const row = await this.load(viewer, id, uploadLinkId);
    const lockToken = await this.lockWithin(row.id, TERMINATE_LOCK_WAIT_MS);
    if (!lockToken) throw locked();
    try {
      await this.uploads.cancel(viewer, row.id);
      await this.state.clear(row.id);
    } finally {
      await this.state.unlock(row.id, lockToken);
    }
  }

  /** The upload's lock, asked again every LOCK_POLL_MS until `waitMs` has passed; null if never free. */
  private async lockWithin(sid: string, waitMs: number): Promise<string | null> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const token = await this.state.lock(sid);
      if (token || Date.now() >= deadline) return token;
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
  }

  /** The viewer's tus session reached through this principal's link (or none); NOT_FOUND otherwise. */
  private async load(viewer: Viewer, id: string, uploadLinkId: string | null): Promise<UploadSessionRow> {
    const row = await this.core.load(viewer, id);
    if (row.tusMetadata == null || (row.uploadLinkId ?? null) !== uploadLinkId) throw new AppError('NOT_FOUND', 'No such upload');
    return row;
  }

  private async describe(row: UploadSessionRow, startMultipart: boolean): Promise<TusUploadState> {
    const size = Number(row.size);
    const plan = { size, chunkSize: row.chunkSize, chunkCount: row.chunkCount };
    const whole = row.status === 'COMPLETED' || row.status === 'COMPLETING' || Boolean(row.assembledHash);
    let recorded = new Set<number>();
    let stored: Awaited<ReturnType<TusStateRepository['tail']>> = null;
    if (!whole && isUnfinished(row.status)) {
      await this.core.ensureReceipts(row);
      [recorded, stored] = await Promise.all([this.deps.receipts.all(row.id).then((m) => new Set(m.keys())), this.state.tail(row.id)]);
    }
    const at = whole ? { offset: size, nextIndex: row.chunkCount, tailLength: 0 } : tusOffset(plan, recorded, stored);
    const multipartId = startMultipart && isActive(row.status) && !whole ? await this.core.ensureMultipart(row) : row.multipartId;
    return {
      id: row.id, status: row.status, ...plan, offset: at.offset, nextIndex: at.nextIndex,
      tail: stored && at.tailLength > 0 ? { slot: stored.slot, length: at.tailLength } : null,
      tailSlot: stored?.slot ?? null, metadata: row.tusMetadata ?? '', expiresAt: row.expiresAt.toISOString(),
      backend: row.backend, storageKey: row.storageKey, multipartId,
    };
  }
}

function locked(): AppError {
  return new AppError('CONFLICT', 'Another request is writing this upload; try again once it ends', { details: { reason: 'upload_locked' }, retryAfter: 1 });
}
