/**
 * Per-request DataLoaders: the File lookups of one GraphQL request (parents of 200 listed files,
 * say) become one batched service call instead of one per field.
 */
import DataLoader from 'dataloader';
import type { FileDto, VersionDto } from '../../internal/files/index.ts';
import type { ThumbnailSize } from '../../internal/thumbnails/index.ts';
import type { Clients } from '../clients.ts';

export interface Loaders {
  file: DataLoader<string, FileDto | null>;
  /** File.versions of every listed file: one call, one statement (versions.repository.ts listMany). */
  versions: DataLoader<string, VersionDto[]>;
  /** A signed thumbnail of one of the viewer's files (null: none ready), a page of them per call. */
  thumbnail: DataLoader<{ fileId: string; name: string; mimeType: string | null; contentHash: string; size: number; thumb: ThumbnailSize }, { sig: string; version: string } | null, string>;
  /** Whether a content's thumbnail is ready (share pages: the share already allowed the files). */
  thumbnailReady: DataLoader<{ contentHash: string; size: number }, boolean, string>;
}

export function createLoaders(clients: Clients): Loaders {
  return {
    file: new DataLoader<string, FileDto | null>((ids) => clients.files.getMany.query({ ids: [...ids] }), { maxBatchSize: 500 }),
    versions: new DataLoader<string, VersionDto[]>((ids) => clients.files.versions.listMany.query({ fileIds: [...ids] }), { maxBatchSize: 500 }),
    thumbnail: new DataLoader((items) => clients.files.thumbnails.signed.query({ items: [...items] }), { maxBatchSize: 500, cacheKeyFn: (i) => `${i.fileId}|${i.thumb}` }),
    thumbnailReady: new DataLoader((keys) => clients.files.thumbnails.ready.query({ keys: [...keys] }), { maxBatchSize: 500, cacheKeyFn: (k) => `${k.contentHash}:${k.size}` }),
  };
}
