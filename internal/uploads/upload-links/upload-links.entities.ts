/**
 * File-drop links. The token is a capability to write into the owner's folder: 256 random bits
 * (base64url), compared in constant time and never logged. The owner shares a drop link again and
 * again (as file requests elsewhere show it any time), so it is kept as is, like share tokens
 * (shares.entities.ts). A password is a scrypt hash.
 *
 * Counters: `filesReserved`/`bytesReserved` are what unfinished drop sessions hold (reserved with
 * one conditional UPDATE when a session is created, so the N+1th file of a maxFiles: N link is
 * refused before any byte is kept); `filesReceived`/`bytesReceived` what arrived. Each session's
 * reservation is a row of upload_link_reservations, so it is moved or released exactly once.
 */
import { EntitySchema } from '@mikro-orm/core';

export class UploadLinkRow {
  id!: string;
  ownerId!: string;
  folderId!: string;
  token!: string;
  passwordHash!: string | null;
  expiresAt!: Date | null;
  maxFiles!: number | null;
  maxBytes!: number | null;
  filesReserved!: number;
  bytesReserved!: number;
  filesReceived!: number;
  bytesReceived!: number;
  revokedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

/** One unfinished drop session's hold on its link's limits. */
export class UploadLinkReservationRow {
  sessionId!: string;
  linkId!: string;
  bytes!: number;
  createdAt!: Date;
}

/** A file that arrived through a link (the owner's recent arrivals). */
export class UploadLinkArrivalRow {
  id!: string;
  linkId!: string;
  ownerId!: string;
  fileId!: string;
  name!: string;
  size!: number;
  receivedAt!: Date;
}

export const UploadLinkSchema = new EntitySchema<UploadLinkRow>({
  class: UploadLinkRow,
  tableName: 'upload_links',
  indexes: [{ name: 'upload_links_owner_idx', properties: ['ownerId', 'createdAt'] }],
  uniques: [{ name: 'upload_links_token_unique', properties: ['token'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    ownerId: { type: 'string', length: 36 },
    folderId: { type: 'string', length: 36 },
    token: { type: 'string', length: 64 },
    passwordHash: { type: 'string', length: 255, nullable: true },
    expiresAt: { type: 'datetime', length: 3, nullable: true },
    maxFiles: { type: 'integer', nullable: true },
    maxBytes: { type: 'bigint', runtimeType: 'number', nullable: true } as never,
    filesReserved: { type: 'integer', default: 0 },
    bytesReserved: { type: 'bigint', runtimeType: 'number', default: 0 } as never,
    filesReceived: { type: 'integer', default: 0 },
    bytesReceived: { type: 'bigint', runtimeType: 'number', default: 0 } as never,
    revokedAt: { type: 'datetime', length: 3, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
  },
});

export const UploadLinkReservationSchema = new EntitySchema<UploadLinkReservationRow>({
  class: UploadLinkReservationRow,
  tableName: 'upload_link_reservations',
  indexes: [{ name: 'upload_link_reservations_link_idx', properties: ['linkId'] }],
  properties: {
    sessionId: { type: 'string', primary: true, length: 36 },
    linkId: { type: 'string', length: 36 },
    bytes: { type: 'bigint', runtimeType: 'number' } as never,
    createdAt: { type: 'datetime', length: 3 },
  },
});

export const UploadLinkArrivalSchema = new EntitySchema<UploadLinkArrivalRow>({
  class: UploadLinkArrivalRow,
  tableName: 'upload_link_arrivals',
  indexes: [
    { name: 'upload_link_arrivals_link_idx', properties: ['linkId', 'receivedAt'] },
    { name: 'upload_link_arrivals_owner_idx', properties: ['ownerId', 'receivedAt'] },
  ],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    linkId: { type: 'string', length: 36 },
    ownerId: { type: 'string', length: 36 },
    fileId: { type: 'string', length: 36 },
    name: { type: 'string', length: 255 },
    size: { type: 'bigint', runtimeType: 'number' } as never,
    receivedAt: { type: 'datetime', length: 3 },
  },
});

export const uploadLinkEntities = [UploadLinkSchema, UploadLinkReservationSchema, UploadLinkArrivalSchema];
