/** The only code of the uploads service that touches the database. */
import type { EntityMetadata } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import type { Orm } from '../platform/db/orm.ts';
import { assertTransition, FINISHED, UNFINISHED, type UploadStatus } from './session-status.machine.ts';
import { UploadSessionRow } from './uploads.entities.ts';

/** The row's read by hand: its statement (every column but the lazy ones) and its metadata. */
interface RowRead {
  sql: string;
  meta: EntityMetadata<UploadSessionRow>;
}

export class UploadsRepository {
  private rowRead: RowRead | undefined;

  constructor(private readonly orm: Orm) {}

  private em(): SqlEntityManager {
    return this.orm.em.fork() as SqlEntityManager;
  }

  async insert(row: UploadSessionRow): Promise<void> {
    await this.em().insert(UploadSessionRow, row);
  }

  /**
   * The session, read by hand on the primary: every chunk reads it (begin, again after its lock,
   * record, each progress report), and `em.findOne` cost 0.8–1.6 CPU ms a read in query building
   * and entity hydration against 0.2 for this statement and the driver's row mapping (the same
   * type conversions). On the primary, as the compare-and-sets it is read for are: a replica's
   * copy may lag a status change.
   */
  async findOwned(ownerId: string, id: string): Promise<UploadSessionRow | null> {
    const em = this.em();
    const read = (this.rowRead ??= rowReadOf(em));
    const rows = (await em.getConnection('write').execute(read.sql, [id, ownerId], 'all')) as Record<string, unknown>[];
    const raw = rows[0];
    if (!raw) return null;
    return Object.assign(new UploadSessionRow(), em.getDriver().mapResult(raw, read.meta));
  }

  listUnfinished(ownerId: string): Promise<UploadSessionRow[]> {
    return this.em().find(UploadSessionRow, { ownerId, status: { $in: [...UNFINISHED] } }, { orderBy: { createdAt: 'desc' }, limit: 200 });
  }

  /** Bytes the person's unfinished sessions reserve (each its whole size). */
  async reservedBytes(ownerId: string): Promise<number> {
    const rows = (await this.em()
      .getConnection('write')
      .execute(`select coalesce(sum(size), 0) as bytes from upload_sessions where owner_id = ? and status in (${UNFINISHED.map(() => '?').join(', ')})`, [ownerId, ...UNFINISHED], 'all')) as {
      bytes: number | string;
    }[];
    return Number(rows[0]?.bytes ?? 0);
  }

  countUnfinished(ownerId: string): Promise<number> {
    return this.em().count(UploadSessionRow, { ownerId, status: { $in: [...UNFINISHED] } });
  }

  /**
   * Moves the session to `to` only if it is in one of `from` now: the compare-and-set that keeps
   * two requests (a pause and a completion, say) from both winning. Every from → to must be an edge
   * of the status table (session-status.machine.ts).
   */
  async transition(id: string, from: readonly UploadStatus[], to: UploadStatus, changes: Partial<UploadSessionRow> = {}): Promise<boolean> {
    for (const status of from) assertTransition(status, to);
    const changed = await this.em().nativeUpdate(UploadSessionRow, { id, status: { $in: [...from] } }, { ...changes, status: to, updatedAt: new Date() });
    return changed === 1;
  }

  /** Changes the session only while it is still in `status` (no status change): true when it was. */
  async updateWhile(id: string, status: UploadStatus, changes: Partial<Omit<UploadSessionRow, 'status'>>): Promise<boolean> {
    return (await this.em().nativeUpdate(UploadSessionRow, { id, status }, { ...changes, updatedAt: new Date() })) === 1;
  }

  /** Records the backend multipart id unless another request already did: true for the winner. */
  async setMultipart(id: string, multipartId: string): Promise<boolean> {
    return (await this.em().nativeUpdate(UploadSessionRow, { id, multipartId: '' }, { multipartId, updatedAt: new Date() })) === 1;
  }

  async update(id: string, changes: Partial<UploadSessionRow>): Promise<void> {
    await this.em().nativeUpdate(UploadSessionRow, { id }, { ...changes, updatedAt: new Date() });
  }

  async delete(id: string): Promise<void> {
    await this.em().nativeDelete(UploadSessionRow, { id });
  }

  /**
   * The declared block digests `first`…`first + count - 1` (hex), or null when the session
   * declared none: a slice of the column (substr is the same in MySQL and SQLite), so a chunk of a
   * 100 GiB file reads 128 bytes of it, not 1.6 MB.
   */
  async declaredDigests(id: string, first: number, count: number): Promise<string[] | null> {
    const rows = (await this.em()
      .getConnection('write')
      .execute('select substr(block_hashes, ?, ?) as slice from upload_sessions where id = ?', [first * 64 + 1, count * 64, id], 'all')) as { slice: string | null }[];
    const slice = rows[0]?.slice;
    if (slice === null || slice === undefined) return null;
    return Array.from({ length: Math.floor(slice.length / 64) }, (_, i) => slice.slice(i * 64, (i + 1) * 64));
  }

  /** Sessions in COMPLETING (the recovery looks for those whose completion lease is gone). */
  findCompleting(limit: number): Promise<UploadSessionRow[]> {
    return this.em().find(UploadSessionRow, { status: 'COMPLETING' }, { limit, orderBy: { updatedAt: 'asc' } });
  }

  findExpired(now: Date, limit: number): Promise<UploadSessionRow[]> {
    return this.em().find(UploadSessionRow, { status: { $in: [...UNFINISHED] }, expiresAt: { $lt: now } }, { limit });
  }

  /** Finished sessions untouched since `before` (a CANCELLED row is normally deleted at once). */
  /** Sessions by status, in one grouped statement (the stratus_upload_sessions gauge; the status index serves it). */
  async countByStatus(): Promise<Map<string, number>> {
    const rows = (await this.em().getConnection('read').execute('select status, count(*) as n from upload_sessions group by status', [], 'all')) as { status: string; n: number | string }[];
    return new Map(rows.map((row) => [row.status, Number(row.n)]));
  }

  async deleteFinishedBefore(before: Date): Promise<number> {
    return this.em().nativeDelete(UploadSessionRow, { status: { $in: [...FINISHED] }, updatedAt: { $lt: before } });
  }
}

/** `select <columns but the lazy ones> from upload_sessions where id = ? and owner_id = ?`, from the entity's metadata. */
function rowReadOf(em: SqlEntityManager): RowRead {
  const meta = em.getMetadata().get<UploadSessionRow>(UploadSessionRow.name);
  const columns = meta.props.filter((p) => !p.lazy && p.persist !== false).flatMap((p) => p.fieldNames);
  const quote = (name: string) => em.getPlatform().quoteIdentifier(name);
  return { sql: `select ${columns.map(quote).join(', ')} from ${quote(meta.tableName)} where ${quote('id')} = ? and ${quote('owner_id')} = ?`, meta };
}
