/**
 * What the files service hands out: plain objects with the fields the API needs (the tRPC outputs
 * the gateway and the CLI read), never the ORM rows of files.entities.ts.
 */
import type { BlobRow, FileRow } from './files.entities.ts';

export interface FileDto {
  id: string;
  name: string;
  size: number;
  contentHash: string | null;
  mimeType: string | null;
  isFolder: boolean;
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
  trashedAt: string | null;
}

export interface Connection {
  edges: { cursor: string; node: FileDto }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/** Where a blob's bytes are: enough to open them, nothing about who uses them. */
export interface BlobLocation {
  backend: string;
  storageKey: string;
}

export interface BlobDto extends BlobLocation {
  id: string;
  contentHash: string;
  size: number;
}

/** What a download needs: the file and where its bytes are. */
export interface ContentDto<B extends BlobLocation = BlobDto> {
  file: FileDto;
  blob: B;
}

export interface QuotaDto {
  used: number;
  limit: number;
}

export function toFileDto(row: FileRow): FileDto {
  return {
    id: row.id,
    name: row.name,
    size: Number(row.size),
    contentHash: row.contentHash,
    mimeType: row.mimeType,
    isFolder: row.isFolder,
    parentId: row.parentId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    trashedAt: row.trashedAt ? row.trashedAt.toISOString() : null,
  };
}

export function toBlobDto(blob: BlobRow): BlobDto {
  return { id: blob.id, backend: blob.backend, storageKey: blob.storageKey, contentHash: blob.contentHash, size: Number(blob.size) };
}

export const locationOf = (blob: BlobLocation): BlobLocation => ({ backend: blob.backend, storageKey: blob.storageKey });
