/** The only code of file-drop links that touches the database. */
import { randomUUID } from 'node:crypto';
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import type { Orm } from '../../platform/db/orm.ts';
import { UploadLinkArrivalRow, UploadLinkReservationRow, UploadLinkRow } from './upload-links.entities.ts';

export type NewUploadLink = Pick<UploadLinkRow, 'ownerId' | 'folderId' | 'token' | 'passwordHash' | 'expiresAt' | 'maxFiles' | 'maxBytes'>;
export type UploadLinkChanges = Partial<Pick<UploadLinkRow, 'passwordHash' | 'expiresAt' | 'maxFiles' | 'maxBytes' | 'revokedAt'>>;

export class UploadLinksRepository {
  constructor(private readonly orm: Orm) {}

  private em(): EntityManager {
    return this.orm.em.fork() as EntityManager;
  }

  async insert(link: NewUploadLink, now: Date): Promise<UploadLinkRow> {
    const em = this.em();
    const row = em.create(UploadLinkRow, {
      ...link, id: randomUUID(), filesReserved: 0, bytesReserved: 0, filesReceived: 0, bytesReceived: 0, revokedAt: null, createdAt: now, updatedAt: now,
    });
    await em.flush();
    return row;
  }

  /** Read from the primary: a revoke or a counter written a moment ago must be seen at once. */
  async findOwned(ownerId: string, id: string): Promise<UploadLinkRow | null> {
    return this.em().findOne(UploadLinkRow, { id, ownerId }, { connectionType: 'write' });
  }

  async findById(id: string): Promise<UploadLinkRow | null> {
    return this.em().findOne(UploadLinkRow, { id }, { connectionType: 'write' });
  }

  async findByToken(token: string): Promise<UploadLinkRow | null> {
    return this.em().findOne(UploadLinkRow, { token }, { connectionType: 'write' });
  }

  async listOwned(ownerId: string, limit: number): Promise<UploadLinkRow[]> {
    return this.em().find(UploadLinkRow, { ownerId }, { orderBy: { createdAt: 'desc', id: 'asc' }, limit });
  }

  /** Links of the person not revoked and not expired at `now` (the per-person limit counts these). */
  async countLive(ownerId: string, now: Date): Promise<number> {
    return this.em().count(UploadLinkRow, { ownerId, revokedAt: null, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] }, { connectionType: 'write' });
  }

  async update(id: string, changes: UploadLinkChanges, now: Date): Promise<void> {
    await this.em().nativeUpdate(UploadLinkRow, { id }, { ...changes, updatedAt: now });
  }

  /**
   * Holds one file of `bytes` against the link's limits: one conditional UPDATE (received +
   * reserved + this ≤ the limit, not revoked), then the session's reservation row, in one
   * transaction. False when a limit would be passed (nothing changed).
   */
  async reserve(linkId: string, sessionId: string, bytes: number, now: Date): Promise<boolean> {
    return this.em().transactional(async (tx) => {
      const result = await tx.execute<{ affectedRows: number }>(
        `update upload_links set files_reserved = files_reserved + 1, bytes_reserved = bytes_reserved + ?
         where id = ? and revoked_at is null
           and (max_files is null or files_received + files_reserved + 1 <= max_files)
           and (max_bytes is null or bytes_received + bytes_reserved + ? <= max_bytes)`,
        [bytes, linkId, bytes],
        'run',
      );
      if (result.affectedRows !== 1) return false;
      tx.create(UploadLinkReservationRow, { sessionId, linkId, bytes, createdAt: now });
      await tx.flush();
      return true;
    });
  }

  /**
   * Ends a session's reservation: released (cancelled, expired) or turned into an arrival
   * (`arrived`: the file counted as received and recorded). Deleting the reservation row first
   * makes this happen once however often it is called. Null when the session held none.
   */
  async settle(sessionId: string, arrived: Omit<UploadLinkArrivalRow, 'id' | 'linkId' | 'ownerId'> | null): Promise<{ linkId: string; arrival: UploadLinkArrivalRow | null } | null> {
    return this.em().transactional(async (tx) => {
      const held = await tx.findOne(UploadLinkReservationRow, { sessionId });
      if (!held) return null;
      if ((await tx.nativeDelete(UploadLinkReservationRow, { sessionId })) !== 1) return null;
      const bytes = Number(held.bytes);
      if (!arrived) {
        await tx.execute('update upload_links set files_reserved = files_reserved - 1, bytes_reserved = bytes_reserved - ? where id = ?', [bytes, held.linkId], 'run');
        return { linkId: held.linkId, arrival: null };
      }
      await tx.execute(
        `update upload_links set files_reserved = files_reserved - 1, bytes_reserved = bytes_reserved - ?,
           files_received = files_received + 1, bytes_received = bytes_received + ? where id = ?`,
        [bytes, arrived.size, held.linkId],
        'run',
      );
      const link = await tx.findOneOrFail(UploadLinkRow, { id: held.linkId });
      const arrival = tx.create(UploadLinkArrivalRow, { ...arrived, id: randomUUID(), linkId: held.linkId, ownerId: link.ownerId });
      await tx.flush();
      return { linkId: held.linkId, arrival };
    });
  }

  /** The link a session reserved against, if any. */
  async reservationOf(sessionId: string): Promise<UploadLinkReservationRow | null> {
    return this.em().findOne(UploadLinkReservationRow, { sessionId }, { connectionType: 'write' });
  }

  async arrivals(linkId: string, limit: number): Promise<UploadLinkArrivalRow[]> {
    return this.em().find(UploadLinkArrivalRow, { linkId }, { orderBy: { receivedAt: 'desc', id: 'asc' }, limit });
  }
}
