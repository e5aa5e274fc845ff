/** What the shares service hands out (tRPC outputs), never the ORM rows of shares.entities.ts. */
import type { FileDto } from './files.dto.ts';
import type { ShareRow } from './shares.entities.ts';

export interface ShareDto {
  id: string;
  token: string;
  fileId: string;
  expiresAt: string | null;
  maxDownloads: number | null;
  downloads: number;
  views: number;
  createdAt: string;
  hasPassword: boolean;
}

/** What a visitor sees of an opened share link: its limits and the shared item. */
export interface OpenedShareDto {
  token: string;
  expiresAt: string | null;
  hasPassword: boolean;
  root: FileDto;
}

export function toShareDto(row: ShareRow): ShareDto {
  return {
    id: row.id, token: row.token, fileId: row.fileId, expiresAt: row.expiresAt?.toISOString() ?? null, maxDownloads: row.maxDownloads,
    downloads: row.downloads, views: row.views, createdAt: row.createdAt.toISOString(), hasPassword: row.passwordHash !== null,
  };
}
