/**
 * One row per blob content (content hash + size, as the blob's own unique key) that a thumbnail job
 * finished: READY (one object per size under `thumbnailKey`) or FAILED (not an image, corrupt, too
 * big: never tried again, so no retry storm). No row: not made yet. The row is not the blob's: a
 * blob deleted and recorded again with the same bytes finds its thumbnails still there, and the
 * sweeper removes rows (and objects) whose content no blob has any more.
 */
import { EntitySchema } from '@mikro-orm/core';

export const THUMBNAIL_STATUSES = ['READY', 'FAILED'] as const;
export type ThumbnailStatus = (typeof THUMBNAIL_STATUSES)[number];

export class ThumbnailRow {
  id!: string;
  contentHash!: string;
  size!: number;
  status!: ThumbnailStatus;
  /** The backend holding the objects (the blob's when they were made). */
  backend!: string;
  /** Why a FAILED job failed (a short stable word: corrupt, too_many_pixels, too_large, unsupported, timeout). */
  reason!: string | null;
  createdAt!: Date;
}

export const ThumbnailSchema = new EntitySchema<ThumbnailRow>({
  class: ThumbnailRow,
  tableName: 'thumbnails',
  uniques: [{ name: 'thumbnails_content_unique', properties: ['contentHash', 'size'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    contentHash: { type: 'string', length: 64 },
    size: { type: 'bigint', runtimeType: 'number' } as never,
    status: { type: 'string', length: 8 },
    backend: { type: 'string', length: 63 },
    reason: { type: 'string', length: 32, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
  },
});

export const thumbnailEntities = [ThumbnailSchema];
