/**
 * The consistency checker (`stratus fsck [--repair]`): compares what the database says is stored
 * with what the storage backends hold, and what blobs say about the files that use them.
 *
 * Findings, by kind:
 * - `blob_unreferenced`: a blob row no file row points at (whatever its refCount says). Repair:
 *   the row is deleted (only while still unreferenced) and then its object.
 * - `refcount_mismatch`: a blob whose refCount is not the number of file rows pointing at it
 *   (trashed files count: they are purged later and unref then). Repair: recomputed in one
 *   statement from the file rows.
 * - `blob_object_missing`: a referenced blob whose object the backend does not have (`head`).
 *   Not repairable: the bytes are gone; the files are listed so an operator can tell the owners.
 * - `file_blob_missing`: a file row whose blob row does not exist (or a file with no blob at all).
 *   Not repairable, for the same reason.
 * - `session_expired_open`: an upload session still unfinished after its expiry (the sweeper
 *   missed it). Repair: marked EXPIRED, its multipart aborted and its receipts dropped, as the
 *   sweeper does.
 * - `session_completion_interrupted`: a session left in COMPLETING by a completion that died (no
 *   completion lease in the key-value store, untouched for longer than the grace). Repair: the
 *   recovery the server runs on its next read of it (uploads/completion-recovery.service.ts): back to
 *   UPLOADING with its parts or its assembled bytes, or FAILED when nothing is left.
 * - `multipart_orphaned`: a backend multipart upload under `blobs/` that no unfinished session
 *   and no running transfer owns. Repair: aborted. Uploads younger than `multipartGraceMs` are
 *   left alone (a session or transfer may be creating its row right now).
 * - `backend_error`: a backend that could not be asked (unknown or unreachable). Not repairable
 *   here; run again once it answers.
 *
 * Objects in a backend that no blob row names are not looked for: the ObjectStore contract has no
 * listing, and a fresh object whose commit is under way would look the same.
 */
import type { Orm } from '../platform/db/orm.ts';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { StorageRouter } from '../storage/index.ts';
import { ChunkReceipts } from '../uploads/chunk-receipts.repository.ts';
import { MemoryKeyValueStore } from '../platform/kv/memory.kv.ts';
import type { PubSub } from '../platform/kv/kv.ts';
import { IDLE_TTL_MS, SessionCore } from '../uploads/session.core.ts';
import { UploadsRepository } from '../uploads/uploads.repository.ts';
import { FsckRepository, type BlobUse } from './fsck.repository.ts';

/** fsck tells no subscriber: the server announces the recovered state on its next read. */
const silentPubSub: PubSub = { publish: async () => undefined, subscribe: async () => async () => undefined, close: async () => undefined };

export const FINDING_KINDS = [
  'blob_unreferenced',
  'refcount_mismatch',
  'blob_object_missing',
  'file_blob_missing',
  'session_expired_open',
  'session_completion_interrupted',
  'multipart_orphaned',
  'backend_error',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export const FINDING_LABELS: Record<FindingKind, string> = {
  blob_unreferenced: 'blobs without files',
  refcount_mismatch: 'refcounts that disagree',
  blob_object_missing: 'blobs whose object is missing',
  file_blob_missing: 'files without blobs',
  session_expired_open: 'expired sessions still open',
  session_completion_interrupted: 'completions interrupted by a crash',
  multipart_orphaned: 'orphaned multipart uploads',
  backend_error: 'backends that could not be checked',
};

const REPAIRABLE: ReadonlySet<FindingKind> = new Set(['blob_unreferenced', 'refcount_mismatch', 'session_expired_open', 'session_completion_interrupted', 'multipart_orphaned']);

export interface Finding {
  kind: FindingKind;
  /** What it is about: a blob id, a file id, a session id, `backend:key#uploadId`. */
  subject: string;
  detail: string;
  repairable: boolean;
  repaired: boolean;
  /** Why a repair that was tried did not happen. */
  repairError?: string;
}

export interface FsckReport {
  findings: Finding[];
  counts: Record<FindingKind, { found: number; repaired: number }>;
  /** No finding is left unrepaired. */
  clean: boolean;
}

export interface FsckDeps {
  orm: Orm;
  storage: StorageRouter;
  /** For dropping the chunk receipts of expired sessions; optional (they expire by TTL anyway). */
  kv?: KeyValueStore;
  now?: () => Date;
}

export interface FsckOptions {
  repair: boolean;
  /** Multipart uploads younger than this are never called orphaned. Default 1 hour. */
  multipartGraceMs?: number;
  /** Prefix the blobs live under (newBlobKey). */
  prefix?: string;
}

export const DEFAULT_MULTIPART_GRACE_MS = 3_600_000;

type BlobScan = BlobUse;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export async function runFsck(deps: FsckDeps, options: FsckOptions): Promise<FsckReport> {
  const run = new FsckRun(deps, options);
  await run.checkBlobs();
  await run.checkFilesWithoutBlob();
  await run.checkExpiredSessions();
  await run.checkInterruptedCompletions();
  await run.checkOrphanedMultiparts();
  return run.report();
}

/** One fsck pass: its findings, and the repairs it made when asked to. */
class FsckRun {
  private readonly findings: Finding[] = [];
  private readonly badBackends = new Set<string>();
  private readonly now: () => Date;
  /** Every statement fsck runs (always on the primary). */
  private readonly repo: FsckRepository;

  constructor(
    private readonly deps: FsckDeps,
    private readonly options: FsckOptions,
  ) {
    this.now = deps.now ?? (() => new Date());
    this.repo = new FsckRepository(deps.orm);
  }


  private add(kind: FindingKind, subject: string, detail: string): Finding {
    const finding: Finding = { kind, subject, detail, repairable: REPAIRABLE.has(kind), repaired: false };
    this.findings.push(finding);
    return finding;
  }

  private async repair(finding: Finding, fn: () => Promise<boolean>): Promise<void> {
    if (!this.options.repair || !finding.repairable) return;
    try {
      finding.repaired = await fn();
      if (!finding.repaired) finding.repairError = 'changed while checking; run fsck again';
    } catch (error) {
      finding.repairError = message(error);
    }
  }

  private storeOf(backend: string) {
    try {
      return this.deps.storage.store(backend);
    } catch (error) {
      if (!this.badBackends.has(backend)) {
        this.badBackends.add(backend);
        this.add('backend_error', backend, message(error));
      }
      return null;
    }
  }

  /** 1. Blobs: references counted from the file rows, compared with refCount and the backend. */
  async checkBlobs(): Promise<void> {
    const scans: BlobScan[] = await this.repo.blobUses();
    for (const blob of scans) {
      if (blob.files === 0) {
        await this.unreferencedBlob(blob);
        continue;
      }
      if (blob.refCount !== blob.files) {
        const finding = this.add('refcount_mismatch', blob.id, `refCount ${blob.refCount}, file rows ${blob.files}`);
        await this.repair(finding, () => this.repo.recountRefs(blob.id));
      }
      await this.checkBlobObject(blob);
    }
  }

  private async unreferencedBlob(blob: BlobScan): Promise<void> {
    const finding = this.add('blob_unreferenced', blob.id, `no file points at it (refCount ${blob.refCount}); object ${blob.backend}:${blob.storageKey}`);
    await this.repair(finding, async () => {
      // Deleted only while still unreferenced: a file committed meanwhile keeps it.
      if (!(await this.repo.deleteUnreferencedBlob(blob.id))) return false;
      const store = this.storeOf(blob.backend);
      if (!store) return false;
      // Another blob row may share the key (a transfer that was half done): keep the object then.
      if (!(await this.repo.objectInUse(blob.backend, blob.storageKey))) await store.delete(blob.storageKey);
      return true;
    });
  }

  private async checkBlobObject(blob: BlobScan): Promise<void> {
    const store = this.storeOf(blob.backend);
    if (!store) return;
    try {
      if ((await store.head(blob.storageKey)) === null) {
        const files = await this.repo.filesOfBlob(blob.id);
        this.add('blob_object_missing', blob.id, `${blob.backend}:${blob.storageKey} is gone; files ${files.join(', ')}${blob.files > files.length ? ', …' : ''}`);
      }
    } catch (error) {
      this.add('backend_error', `${blob.backend}:${blob.storageKey}`, `head failed: ${message(error)}`);
    }
  }

  /** 2. Files whose blob row is gone (or that never had one). */
  async checkFilesWithoutBlob(): Promise<void> {
    const dangling = await this.repo.filesWithoutBlob();
    for (const file of dangling) this.add('file_blob_missing', file.id, file.blobId ? `blob ${file.blobId} does not exist` : 'a file without a blob');
  }

  /** 3. Sessions past their expiry that are still open. */
  async checkExpiredSessions(): Promise<void> {
    const expired = await this.repo.expiredOpenSessions(this.now());
    const receipts = this.deps.kv ? new ChunkReceipts(this.deps.kv, 60_000) : undefined;
    for (const row of expired) {
      const finding = this.add('session_expired_open', row.id, `${row.status} since ${row.updatedAt.toISOString()}, expired ${row.expiresAt.toISOString()}`);
      await this.repair(finding, async () => {
        if (!(await this.repo.expireSession(row))) return false;
        if (row.multipartId) {
          await this.storeOf(row.backend)
            ?.abortMultipart(row.storageKey, row.multipartId)
            .catch((error: unknown) => {
              if (!AppError.is(error, 'NOT_FOUND')) throw error;
            });
        }
        await receipts?.clear(row.id);
        return true;
      });
    }
  }

  /** 4. Completions that died: COMPLETING, no lease, untouched for longer than the grace. */
  async checkInterruptedCompletions(): Promise<void> {
    const grace = this.options.multipartGraceMs ?? DEFAULT_MULTIPART_GRACE_MS;
    const { deps, now } = this;
    const core = new SessionCore(new UploadsRepository(deps.orm), new ChunkReceipts(deps.kv ?? new MemoryKeyValueStore(), IDLE_TTL_MS), silentPubSub, deps.storage, now);
    for (const row of await this.repo.completingSessions()) {
      if (now().getTime() - row.updatedAt.getTime() < grace) continue;
      if (await core.completionRunning(row.id)) continue; // a completion is at work
      const finding = this.add('session_completion_interrupted', row.id, `COMPLETING since ${row.updatedAt.toISOString()} with no completion running; ${row.backend}:${row.storageKey}`);
      await this.repair(finding, async () => {
        await core.recover(row);
        return row.status !== 'COMPLETING';
      });
    }
  }

  /** 5. Backend multipart uploads nobody owns. */
  async checkOrphanedMultiparts(): Promise<void> {
    const owned = await this.ownedMultiparts();
    for (const backend of this.deps.storage.backends()) {
      const store = this.storeOf(backend.name);
      if (!store) continue;
      let uploads;
      try {
        uploads = await store.listMultipartUploads(this.options.prefix ?? 'blobs/');
      } catch (error) {
        this.add('backend_error', backend.name, `listMultipartUploads failed: ${message(error)}`);
        continue;
      }
      for (const upload of uploads) {
        if (owned.sessions.has(`${backend.name}\n${upload.key}\n${upload.uploadId}`) || owned.transferring.has(upload.key)) continue;
        if (upload.initiated && this.now().getTime() - upload.initiated.getTime() < (this.options.multipartGraceMs ?? DEFAULT_MULTIPART_GRACE_MS)) continue;
        const finding = this.add('multipart_orphaned', `${backend.name}:${upload.key}#${upload.uploadId}`, `started ${upload.initiated?.toISOString() ?? 'at an unknown time'}`);
        await this.repair(finding, async () => {
          await store.abortMultipart(upload.key, upload.uploadId).catch((error: unknown) => {
            if (!AppError.is(error, 'NOT_FOUND')) throw error;
          });
          return true;
        });
      }
    }
  }

  /** The multipart uploads of unfinished sessions, and the keys of blobs a transfer is copying. */
  private async ownedMultiparts(): Promise<{ sessions: Set<string>; transferring: Set<string> }> {
    const open = await this.repo.openMultiparts();
    const sessions = new Set(open.map((s) => `${s.backend}\n${s.storageKey}\n${s.multipartId}`));
    return { sessions, transferring: new Set(await this.repo.transferringKeys()) };
  }

  report(): FsckReport {
    const { findings } = this;
    const counts = Object.fromEntries(FINDING_KINDS.map((kind) => [kind, { found: 0, repaired: 0 }])) as FsckReport['counts'];
    for (const f of findings) {
      counts[f.kind].found++;
      if (f.repaired) counts[f.kind].repaired++;
    }
    return { findings, counts, clean: findings.every((f) => f.repaired) };
  }
}

/** One summary line per finding kind, then the unrepaired findings, for people and scripts. */
export function formatReport(report: FsckReport, repair: boolean): string[] {
  const lines = FINDING_KINDS.map((kind) => {
    const { found, repaired } = report.counts[kind];
    const tail = found === 0 ? 'ok' : repair ? (REPAIRABLE.has(kind) ? `${repaired} repaired` : 'cannot be repaired') : REPAIRABLE.has(kind) ? 'repairable with --repair' : 'cannot be repaired';
    return `${kind}: ${found} ${FINDING_LABELS[kind]} (${tail})`;
  });
  for (const f of report.findings) {
    if (!f.repaired) lines.push(`  ${f.kind} ${f.subject}: ${f.detail}${f.repairError ? ` [repair failed: ${f.repairError}]` : ''}`);
  }
  lines.push(report.clean ? 'fsck: clean' : `fsck: ${report.findings.filter((f) => !f.repaired).length} problem(s) remain`);
  return lines;
}
