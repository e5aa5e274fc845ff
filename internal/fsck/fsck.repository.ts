/**
 * The database side of fsck: every statement the consistency check runs over the files, blobs,
 * upload-session and transfer-job tables, so fsck.ts only compares and decides. Always the
 * primary (`getConnection('write')` for the raw statements): a lagging replica would report
 * repaired problems again, or miss new rows.
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Orm } from '../platform/db/orm.ts';
import { BlobRow } from '../files/files.entities.ts';
import { TransferJobRow } from '../transfer/transfer.entities.ts';
import { UNFINISHED, assertTransition, sourcesOf } from '../uploads/session-status.machine.ts';
import { UploadSessionRow } from '../uploads/uploads.entities.ts';

/** A blob row with the number of file rows that point at it. */
export interface BlobUse {
  id: string;
  backend: string;
  storageKey: string;
  refCount: number;
  files: number;
}

export class FsckRepository {
  constructor(private readonly orm: Orm) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  private async sql<T>(query: string, params: unknown[] = []): Promise<T[]> {
    return (await this.em().getConnection('write').execute(query, params, 'all')) as T[];
  }

  private async run(query: string, params: unknown[]): Promise<number> {
    const result = (await this.em().getConnection('write').execute(query, params, 'run')) as { affectedRows?: number };
    return Number(result.affectedRows ?? 0);
  }

  /** Every blob with the file rows counted (not its refCount: that is what is checked). */
  async blobUses(): Promise<BlobUse[]> {
    const blobs = await this.sql<{ id: string; backend: string; storage_key: string; ref_count: number | string; files: number | string }>(
      // A file version (issue 22) holds a reference like a file row does.
      'select b.id, b.backend, b.storage_key, b.ref_count, (select count(*) from files f where f.blob_id = b.id) + (select count(*) from file_versions v where v.blob_id = b.id) as files from blobs b',
    );
    return blobs.map((b) => ({ id: b.id, backend: b.backend, storageKey: b.storage_key, refCount: Number(b.ref_count), files: Number(b.files) }));
  }

  /** Sets a blob's refCount to its file rows counted now; false when the blob is gone. */
  async recountRefs(blobId: string): Promise<boolean> {
    await this.run('update blobs set ref_count = (select count(*) from files f where f.blob_id = blobs.id) + (select count(*) from file_versions v where v.blob_id = blobs.id) where id = ?', [blobId]);
    return (await this.em().findOne(BlobRow, { id: blobId })) !== null;
  }

  /** Deletes the blob row only while no file points at it (a file committed meanwhile keeps it); true when it is gone. */
  async deleteUnreferencedBlob(blobId: string): Promise<boolean> {
    const deleted = await this.run('delete from blobs where id = ? and not exists (select 1 from files f where f.blob_id = blobs.id) and not exists (select 1 from file_versions v where v.blob_id = blobs.id)', [blobId]);
    return deleted === 1 || (await this.em().count(BlobRow, { id: blobId })) === 0;
  }

  /** Whether a blob row names this object (a transfer half done can leave two rows on one key). */
  async objectInUse(backend: string, storageKey: string): Promise<boolean> {
    return (await this.em().count(BlobRow, { backend, storageKey })) > 0;
  }

  /** Up to 20 ids of the files that use a blob (enough to name in a finding). */
  async filesOfBlob(blobId: string): Promise<string[]> {
    return (await this.sql<{ id: string }>('select id from files where blob_id = ? limit 20', [blobId])).map((f) => f.id);
  }

  /** Files whose blob row is gone, or that never had one. */
  async filesWithoutBlob(): Promise<{ id: string; blobId: string | null }[]> {
    const rows = await this.sql<{ id: string; blob_id: string | null }>(
      'select f.id, f.blob_id from files f left join blobs b on b.id = f.blob_id where f.is_folder = ? and (f.blob_id is null or b.id is null)',
      [false],
    );
    return rows.map((r) => ({ id: r.id, blobId: r.blob_id }));
  }

  /** Open sessions past their expiry that the status table lets expire (a COMPLETING one is check 4's). */
  expiredOpenSessions(now: Date): Promise<UploadSessionRow[]> {
    return this.em().find(UploadSessionRow, { status: { $in: sourcesOf('EXPIRED') }, expiresAt: { $lt: now } });
  }

  /** EXPIRED, unless the session left `status` meanwhile (then false); the move is the table's. */
  async expireSession(session: Pick<UploadSessionRow, 'id' | 'status'>): Promise<boolean> {
    assertTransition(session.status, 'EXPIRED');
    return (await this.em().nativeUpdate(UploadSessionRow, { id: session.id, status: session.status }, { status: 'EXPIRED', updatedAt: new Date() })) === 1;
  }

  completingSessions(): Promise<UploadSessionRow[]> {
    return this.em().find(UploadSessionRow, { status: 'COMPLETING' });
  }

  /** Where the unfinished sessions' multipart uploads are. */
  openMultiparts(): Promise<Pick<UploadSessionRow, 'backend' | 'storageKey' | 'multipartId'>[]> {
    return this.em().find(UploadSessionRow, { status: { $in: UNFINISHED } }, { fields: ['backend', 'storageKey', 'multipartId'] });
  }

  /** The object keys of blobs a queued or running transfer is copying. */
  async transferringKeys(): Promise<string[]> {
    const activeJobs = await this.em().find(TransferJobRow, { status: { $in: ['QUEUED', 'RUNNING'] } }, { fields: ['blobId'] });
    if (activeJobs.length === 0) return [];
    const blobs = await this.em().find(BlobRow, { id: { $in: activeJobs.map((j) => j.blobId) } }, { fields: ['storageKey'] });
    return blobs.map((b) => b.storageKey);
  }
}
