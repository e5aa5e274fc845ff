/**
 * The durable half of an upload session (the chunk receipts live in the key-value store). The row
 * says where the bytes go (backend, key, multipart id) and how far the session got; everything a
 * client needs to resume after a restart is here or rebuilt from the backend's listParts.
 */
import { EntitySchema } from '@mikro-orm/core';
import type { UploadStatus } from './session-status.machine.ts';

export class UploadSessionRow {
  id!: string;
  ownerId!: string;
  parentId!: string;
  name!: string;
  size!: number;
  chunkSize!: number;
  chunkCount!: number;
  /** Declared by the client (verified at completion), or null. */
  contentHash!: string | null;
  mimeType!: string | null;
  status!: UploadStatus;
  backend!: string;
  storageKey!: string;
  multipartId!: string;
  fileId!: string | null;
  /** Proof-of-ownership challenge: hex nonce and JSON [{offset,length}]. */
  challengeNonce!: string | null;
  challengeRanges!: string | null;
  proofAttempts!: number;
  failureReason!: string | null;
  /**
   * The SHA-256 of each 4 MiB block the client declared at creation (hex, concatenated without
   * separators: block i at characters 64·i…64·i+63), or null. Chunks are checked against it on
   * arrival. Read by slice (BlockHashes in the repository), never whole on the hot path.
   */
  blockHashes?: string | null;
  /**
   * Set once the backend multipart upload has been completed into one object whose content hash
   * was verified: the bytes are safe, only placing the file remains (a name clash or a trashed
   * folder at that moment keeps the session open instead of deleting what was sent).
   */
  assembledHash!: string | null;
  /** The upload link (file drop) this session arrived through; null for the owner's own uploads. */
  uploadLinkId?: string | null;
  /**
   * A tus upload's Upload-Metadata as the client sent it (echoed on HEAD, tus 1.0.0), '' when it
   * sent none; null for sessions that are not tus uploads (they keep no tail object).
   */
  tusMetadata?: string | null;
  /** What completing does when the name is taken: FAIL, RENAME or NEW_VERSION (createUpload's conflict; issue 22). */
  conflict?: 'FAIL' | 'RENAME' | 'NEW_VERSION';
  createdAt!: Date;
  updatedAt!: Date;
  expiresAt!: Date;
}

export const UploadSessionSchema = new EntitySchema<UploadSessionRow>({
  class: UploadSessionRow,
  tableName: 'upload_sessions',
  indexes: [
    { name: 'upload_sessions_owner_idx', properties: ['ownerId', 'status'] },
    { name: 'upload_sessions_expiry_idx', properties: ['status', 'expiresAt'] },
  ],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    ownerId: { type: 'string', length: 36 },
    parentId: { type: 'string', length: 36 },
    name: { type: 'string', length: 255 },
    size: { type: 'bigint', runtimeType: 'number' } as never,
    chunkSize: { type: 'integer' },
    chunkCount: { type: 'integer' },
    contentHash: { type: 'string', length: 64, nullable: true },
    mimeType: { type: 'string', length: 255, nullable: true },
    status: { type: 'string', length: 16 },
    backend: { type: 'string', length: 63 },
    storageKey: { type: 'string', length: 512 },
    multipartId: { type: 'string', length: 1024 },
    fileId: { type: 'string', length: 36, nullable: true },
    challengeNonce: { type: 'string', length: 64, nullable: true },
    challengeRanges: { type: 'text', nullable: true },
    proofAttempts: { type: 'integer', default: 0 },
    failureReason: { type: 'string', length: 255, nullable: true },
    // Up to 32 768 blocks × 64 characters (2 MiB): MEDIUMTEXT on MySQL; lazy, so loading a
    // session for every chunk never reads it.
    blockHashes: { type: 'text', columnType: 'mediumtext', nullable: true, lazy: true },
    assembledHash: { type: 'string', length: 64, nullable: true },
    uploadLinkId: { type: 'string', length: 36, nullable: true },
    tusMetadata: { type: 'text', nullable: true },
    conflict: { type: 'string', length: 16, default: 'FAIL' },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
    expiresAt: { type: 'datetime', length: 3 },
  },
});

export const uploadEntities = [UploadSessionSchema];
