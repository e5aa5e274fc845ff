/**
 * Share links. The token is a capability (256 random bits, base64url): whoever holds it reaches
 * the shared item, so it is compared in constant time and never logged. The owner can see it
 * again in `shares`, so it is kept as is; a password is kept as a scrypt hash.
 */
import { EntitySchema } from '@mikro-orm/core';

export class ShareRow {
  id!: string;
  ownerId!: string;
  fileId!: string;
  token!: string;
  passwordHash!: string | null;
  expiresAt!: Date | null;
  maxDownloads!: number | null;
  downloads!: number;
  views!: number;
  revokedAt!: Date | null;
  createdAt!: Date;
  updatedAt!: Date;
}

export const ShareSchema = new EntitySchema<ShareRow>({
  class: ShareRow,
  tableName: 'shares',
  indexes: [{ name: 'shares_owner_idx', properties: ['ownerId', 'createdAt'] }, { name: 'shares_file_idx', properties: ['fileId'] }],
  uniques: [{ name: 'shares_token_unique', properties: ['token'] }],
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    ownerId: { type: 'string', length: 36 },
    fileId: { type: 'string', length: 36 },
    token: { type: 'string', length: 64 },
    passwordHash: { type: 'string', length: 255, nullable: true },
    expiresAt: { type: 'datetime', length: 3, nullable: true },
    maxDownloads: { type: 'integer', nullable: true },
    downloads: { type: 'integer', default: 0 },
    views: { type: 'integer', default: 0 },
    revokedAt: { type: 'datetime', length: 3, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
    updatedAt: { type: 'datetime', length: 3 },
  },
});
