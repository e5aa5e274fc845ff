/** What the upload-links service hands out: plain objects, never the ORM rows. */
import type { UploadLinkArrivalDto } from './upload-link-activity.channel.ts';
import type { UploadLinkArrivalRow, UploadLinkRow } from './upload-links.entities.ts';
import { accepting } from './upload-links.rules.ts';

export interface UploadLinkDto {
  id: string;
  token: string;
  folderId: string;
  expiresAt: string | null;
  maxFiles: number | null;
  maxBytes: number | null;
  filesReceived: number;
  bytesReceived: number;
  hasPassword: boolean;
  createdAt: string;
  revoked: boolean;
  /** Accepts uploads now, as far as the link row tells (the folder is checked by the resolver). */
  active: boolean;
}

export function toUploadLinkDto(row: UploadLinkRow, now: Date): UploadLinkDto {
  return {
    id: row.id,
    token: row.token,
    folderId: row.folderId,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    maxFiles: row.maxFiles,
    maxBytes: row.maxBytes === null ? null : Number(row.maxBytes),
    filesReceived: row.filesReceived,
    bytesReceived: Number(row.bytesReceived),
    hasPassword: row.passwordHash !== null,
    createdAt: row.createdAt.toISOString(),
    revoked: row.revokedAt !== null,
    active: accepting(row, now),
  };
}

export function toArrivalDto(row: UploadLinkArrivalRow): UploadLinkArrivalDto {
  return { linkId: row.linkId, fileId: row.fileId, name: row.name, size: Number(row.size), receivedAt: row.receivedAt.toISOString() };
}

/** What a drop page visitor may know. */
export interface UploadLinkInfoDto {
  hasPassword: boolean;
  expiresAt: string | null;
  filesLeft: number | null;
  bytesLeft: number | null;
}

/** Who a drop request uploads as and where (the gateway's /drop/{token}/tus/ principal). */
export interface DropPrincipalDto {
  linkId: string;
  ownerId: string;
  folderId: string;
}
