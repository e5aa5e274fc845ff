/**
 * What every upload operation shares: loading a session the viewer owns, making sure its chunk
 * receipts are present (rebuilt from the backend's listParts after a key-value store loss),
 * changing its status (through the status table), answering its current state, and announcing
 * state changes to progress subscribers. It keeps its repositories and stores to itself: the
 * services get theirs from createUploads (UploadsDeps) and ask the core to do these things.
 */
import { AppError } from '../platform/errors.ts';
import type { PubSub } from '../platform/kv/kv.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { StorageRouter } from '../storage/index.ts';
import type { PartInfo } from '../storage/object-store.ts';
import type { ChunkReceipts } from './chunk-receipts.repository.ts';
import { recoverCompletion } from './completion-recovery.service.ts';
import { publishProgress, type UploadProgress } from './progress.channel.ts';
import { ENDED_UNCOMMITTED, isUnfinished, sourcesOf, type UploadStatus } from './session-status.machine.ts';
import type { ChallengeRange } from './upload-plan.rules.ts';
import type { UploadSessionRow } from './uploads.entities.ts';
import type { UploadsRepository } from './uploads.repository.ts';
import type { UploadLinksPort } from './upload-links/upload-links.port.ts';

/** What the uploads services are built from; createUploads wires each service with its share. */
export interface UploadsDeps {
  sessions: UploadsRepository;
  receipts: ChunkReceipts;
  storage: StorageRouter;
  /** File-drop links: what a session created through one does (limits, renaming, arrivals). */
  links?: UploadLinksPort;
}

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

export class SessionCore {
  private endedUncommitted: ((row: UploadSessionRow) => Promise<void>) | null = null;

  constructor(
    private readonly repo: UploadsRepository,
    private readonly receipts: ChunkReceipts,
    private readonly pubsub: PubSub,
    private readonly storage: StorageRouter,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  now(): Date {
    return this.clock();
  }

  /**
   * The viewer's session; another person's id is NOT_FOUND. A session past its expiry is EXPIRED.
   * A completion that died with its process is recovered first (completion-recovery.service.ts).
   */
  async load(viewer: Viewer, id: string): Promise<UploadSessionRow> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such upload session');
    if (row.status === 'COMPLETING') await this.recover(row);
    // Read as EXPIRED at once; the sweeper makes it so in the database (through the status table).
    if (isUnfinished(row.status) && row.expiresAt.getTime() <= this.now().getTime()) row.status = 'EXPIRED';
    return row;
  }

  /**
   * The session as it is in the database now (another request may have moved it since `row` was
   * read), or null when it is gone.
   */
  reload(row: UploadSessionRow): Promise<UploadSessionRow | null> {
    return this.repo.findOwned(row.ownerId, row.id);
  }

  /** Recovers a completion that died with its process (completion-recovery.service.ts). */
  recover(row: UploadSessionRow): Promise<void> {
    return recoverCompletion(this, { sessions: this.repo, receipts: this.receipts, storage: this.storage }, row);
  }

  /** True while a completion (or a recovery) holds the session's completion lease. */
  async completionRunning(id: string): Promise<boolean> {
    const lease = await this.receipts.leaseCompletion(id);
    if (!lease) return true;
    await this.receipts.releaseCompletion(id, lease);
    return false;
  }

  /** CONFLICT naming the status, for operations the session's state does not allow. */
  refuse(row: UploadSessionRow, action: string): AppError {
    return new AppError('CONFLICT', `Cannot ${action}: the upload is ${row.status.toLowerCase()}`, {
      details: { reason: `session_${row.status.toLowerCase() as Lowercase<typeof row.status>}`, status: row.status },
    });
  }

  async ensureReceipts(row: UploadSessionRow): Promise<void> {
    if (!isUnfinished(row.status) || allIn(row) || (await this.receipts.present(row.id))) return;
    let parts: PartInfo[] = [];
    if (row.multipartId) {
      try {
        parts = await this.storage.store(row.backend).listParts(row.storageKey, row.multipartId);
      } catch (error) {
        if (!AppError.is(error, 'NOT_FOUND')) throw error;
        // The backend no longer has the multipart upload (aborted as orphaned, or by a lifecycle
        // rule): the session starts over on a new one, started by the next chunk.
        if (await this.repo.updateWhile(row.id, row.status, { multipartId: '' })) row.multipartId = '';
      }
    }
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

  /** The session as clients see it; `receipts: false` answers without the key-value store. */
  async dto(row: UploadSessionRow, options: { receipts?: boolean } = {}): Promise<UploadSessionDto> {
    const whole = row.status === 'COMPLETED' || allIn(row);
    const read = options.receipts !== false && isUnfinished(row.status) && !whole;
    if (read) await this.ensureReceipts(row);
    const recorded = read ? await this.receipts.all(row.id) : new Map<number, { size: number }>();
    const uploadedChunks = whole ? range(row.chunkCount) : [...recorded.keys()].sort((a, b) => a - b);
    const done = new Set(uploadedChunks);
    const uploadedBytes = whole ? Number(row.size) : [...recorded.values()].reduce((n, r) => n + r.size, 0);
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
    const completed = row.status === 'COMPLETED' || allIn(row);
    const counts = isUnfinished(row.status) && !completed ? await this.receipts.counts(row.id) : { chunks: 0, bytes: 0, inflight: 0 };
    return {
      sessionId: row.id,
      status: row.status,
      uploadedBytes: completed ? Number(row.size) : Math.min(Number(row.size), counts.bytes + counts.inflight),
      size: Number(row.size),
      uploadedChunkCount: completed ? row.chunkCount : counts.chunks,
      chunkCount: row.chunkCount,
    };
  }

  /** Tells the session's progress subscribers where it stands; returns what they were told. */
  async publish(row: UploadSessionRow): Promise<UploadProgress> {
    const progress = await this.progress(row);
    await publishProgress(this.pubsub, progress);
    return progress;
  }

  /**
   * Compare-and-set of the status (each from → to checked against the status table); on success
   * the row object and subscribers follow.
   */
  async transition(row: UploadSessionRow, from: readonly UploadStatus[], to: UploadStatus, changes: Partial<UploadSessionRow> = {}): Promise<boolean> {
    if (!(await this.repo.transition(row.id, from, to, changes))) return false;
    Object.assign(row, changes, { status: to });
    await this.publish(row);
    if (ENDED_UNCOMMITTED.includes(to)) await this.endedUncommitted?.(row);
    return true;
  }

  /**
   * What runs once a session ends without a file — cancelled, terminated, expired or failed,
   * whichever path took it there (a file drop's reservation goes back to its link). One hook on the
   * status change, so no path that ends a session can forget it.
   */
  onEndedUncommitted(hook: (row: UploadSessionRow) => Promise<void>): void {
    this.endedUncommitted = hook;
  }

  /**
   * To `to` from whichever status the table allows to go there (cancel, pause, expire, complete,
   * fail): the table alone says from where.
   */
  moveTo(row: UploadSessionRow, to: UploadStatus, changes: Partial<UploadSessionRow> = {}): Promise<boolean> {
    return this.transition(row, sourcesOf(to), to, changes);
  }

  /** Removes what an unfinished session keeps in the backend: its multipart upload, or its assembled object. */
  async dropBytes(row: UploadSessionRow): Promise<void> {
    const store = this.storage.store(row.backend);
    const ignoreGone = (error: unknown) => {
      if (!AppError.is(error, 'NOT_FOUND')) throw error;
    };
    if (row.multipartId) await store.abortMultipart(row.storageKey, row.multipartId).catch(ignoreGone);
    if (row.assembledHash) await store.delete(row.storageKey).catch(ignoreGone);
    // A tus upload may keep the bytes after its last whole chunk as a tail object (tus/tus-state.repository.ts).
    if (row.tusMetadata != null) await Promise.all([0, 1].map((slot) => store.delete(`${row.storageKey}.tus-tail.${slot}`).catch(ignoreGone)));
  }

  expiry(): Date {
    return new Date(this.now().getTime() + IDLE_TTL_MS);
  }
}

/**
 * Every chunk is in: the parts were assembled, or the session is being completed (it needed every
 * chunk to get there; its receipts may be gone with a restarted in-memory store).
 */
function allIn(row: UploadSessionRow): boolean {
  return row.status === 'COMPLETING' || Boolean(row.assembledHash);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
