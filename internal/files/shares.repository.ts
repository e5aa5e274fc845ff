/** Database access for share links (the files tables are reached through FilesRepository). */
import type { SqlEntityManager } from '@mikro-orm/knex';
import { deleteEvent, recordEvent, type ActivityInput } from '../activity/index.ts';
import type { Orm } from '../platform/db/orm.ts';
import { ShareRow } from './shares.entities.ts';

export class SharesRepository {
  constructor(private readonly orm: Orm) {}

  private em(): SqlEntityManager {
    return this.orm.em.fork() as SqlEntityManager;
  }

  /** A new share link: no downloads or views yet, created and updated `now`; its event in the same transaction. */
  async insert(share: Omit<ShareRow, 'downloads' | 'views' | 'revokedAt' | 'createdAt' | 'updatedAt'>, now: Date, event?: ActivityInput): Promise<ShareRow> {
    const row = Object.assign(new ShareRow(), { ...share, downloads: 0, views: 0, revokedAt: null, createdAt: now, updatedAt: now });
    await this.em().transactional(async (tx) => {
      await tx.insert(ShareRow, row);
      if (event) await recordEvent(tx, { ...event, shareId: row.id }, now);
    });
    return row;
  }

  findOwned(ownerId: string, id: string): Promise<ShareRow | null> {
    return this.em().findOne(ShareRow, { id, ownerId, revokedAt: null });
  }

  listOwned(ownerId: string): Promise<ShareRow[]> {
    return this.em().find(ShareRow, { ownerId, revokedAt: null }, { orderBy: { createdAt: 'desc' }, limit: 1000 });
  }

  findByToken(token: string): Promise<ShareRow | null> {
    return this.em().findOne(ShareRow, { token });
  }

  findById(id: string): Promise<ShareRow | null> {
    return this.em().findOne(ShareRow, { id });
  }

  async update(id: string, changes: Partial<ShareRow>): Promise<void> {
    await this.em().nativeUpdate(ShareRow, { id }, { ...changes, updatedAt: new Date() });
  }

  /** Counts a view, and records it (SHARE_OPENED) in the same transaction. */
  async addView(id: string, event?: ActivityInput): Promise<void> {
    await this.em().transactional(async (tx) => {
      await tx.execute('update shares set views = views + 1 where id = ?', [id], 'run');
      if (event) await recordEvent(tx, event);
    });
  }

  /** Counts one download unless the limit was reached meanwhile: one conditional UPDATE. */
  async addDownload(id: string, event?: ActivityInput): Promise<boolean> {
    return this.em().transactional(async (tx) => {
      const result = await tx.execute<{ affectedRows: number }>(
        'update shares set downloads = downloads + 1 where id = ? and (max_downloads is null or downloads < max_downloads)',
        [id],
        'run',
      );
      // The download is recorded (SHARE_DOWNLOADED) only when it was counted.
      if (result.affectedRows === 1 && event) await recordEvent(tx, event);
      return result.affectedRows === 1;
    });
  }

  /** Gives back a slot taken by addDownload (its request failed before any byte), and its event with it. */
  async removeDownload(id: string, eventId?: string): Promise<void> {
    await this.em().transactional(async (tx) => {
      await tx.execute('update shares set downloads = downloads - 1 where id = ? and downloads > 0', [id], 'run');
      if (eventId) await deleteEvent(tx, eventId);
    });
  }
}
