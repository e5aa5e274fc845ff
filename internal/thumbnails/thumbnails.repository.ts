/** The only code of the thumbnails feature that touches the database: `thumbnails` rows, and `blobs` read. */
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/knex';
import { randomUUID } from 'node:crypto';
import { BlobRow } from '../files/files.entities.ts';
import type { Orm } from '../platform/db/orm.ts';
import { ThumbnailRow, type ThumbnailStatus } from './thumbnails.entities.ts';

export interface ContentKey {
  contentHash: string;
  size: number;
}

export const contentKeyText = (k: ContentKey) => `${k.contentHash}:${k.size}`;

export class ThumbnailsRepository {
  constructor(private readonly orm: Orm) {}

  private em(): SqlEntityManager {
    return this.orm.em.fork() as SqlEntityManager;
  }

  findBlob(key: ContentKey): Promise<BlobRow | null> {
    return this.em().findOne(BlobRow, { contentHash: key.contentHash, size: key.size, refCount: { $gt: 0 } });
  }

  find(key: ContentKey): Promise<ThumbnailRow | null> {
    return this.em().findOne(ThumbnailRow, { contentHash: key.contentHash, size: key.size });
  }

  /** The rows among `keys` by contentKeyText, in one statement (READY or FAILED; absent: no job finished). */
  async statusesAmong(keys: readonly ContentKey[]): Promise<Map<string, ThumbnailStatus>> {
    if (keys.length === 0) return new Map();
    const rows = await this.em().find(ThumbnailRow, { contentHash: { $in: [...new Set(keys.map((k) => k.contentHash))] } }, { fields: ['contentHash', 'size', 'status'] });
    return new Map(rows.map((r) => [contentKeyText({ contentHash: r.contentHash, size: Number(r.size) }), r.status]));
  }

  /** Records a finished job; a row already there (another run won) is left as it is. */
  async record(key: ContentKey, status: ThumbnailStatus, backend: string, reason: string | null): Promise<void> {
    const row = Object.assign(new ThumbnailRow(), { id: randomUUID(), contentHash: key.contentHash, size: key.size, status, backend, reason, createdAt: new Date() });
    try {
      await this.em().insert(ThumbnailRow, row);
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
    }
  }

  /** Rows whose content no blob has any more (the blob's last file went): the sweeper's work. */
  async orphans(limit: number): Promise<ThumbnailRow[]> {
    const em = this.em();
    const rows = await em.getConnection().execute<{ id: string; content_hash: string; size: number | string; backend: string; status: ThumbnailStatus }[]>(
      'select t.id, t.content_hash, t.size, t.backend, t.status from thumbnails t left join blobs b on b.content_hash = t.content_hash and b.size = t.size where b.id is null limit ?',
      [limit],
    );
    return rows.map((r) => Object.assign(new ThumbnailRow(), { id: r.id, contentHash: r.content_hash, size: Number(r.size), backend: r.backend, status: r.status, reason: null }));
  }

  /** Deletes the row unless a blob of that content exists again (recorded anew since `orphans` read it). */
  async deleteIfOrphan(row: ThumbnailRow): Promise<boolean> {
    const em = this.em();
    return em.transactional(async (tx) => {
      const blob = await tx.findOne(BlobRow, { contentHash: row.contentHash, size: row.size }, { fields: ['id'] });
      if (blob) return false;
      return (await tx.nativeDelete(ThumbnailRow, { id: row.id })) === 1;
    });
  }
}
