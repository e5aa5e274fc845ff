/** Database model of personal access tokens (MikroORM EntitySchema, no decorators). */
import { EntitySchema } from '@mikro-orm/core';

export class AccessTokenRow {
  id!: string;
  userId!: string;
  /** The person's label for it ("laptop rclone"). */
  name!: string;
  /**
   * SHA-256 (hex) of the secret. The secret is 256 random bits, so a fast hash is enough: nobody
   * can search that space, and the lookup by hash never compares the secret itself.
   */
  tokenHash!: string;
  /** Comma list of scopes: `READ` or `READ,WRITE`. */
  scopes!: string;
  createdAt!: Date;
  /** Updated at most once a minute (access-tokens.service.ts), so a request is not a write. */
  lastUsedAt?: Date | null;
  /** Null: the token does not expire. */
  expiresAt?: Date | null;
}

export const AccessTokenSchema = new EntitySchema<AccessTokenRow>({
  class: AccessTokenRow,
  tableName: 'access_tokens',
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    userId: { type: 'string', length: 36, index: 'access_tokens_user_idx' },
    name: { type: 'string', length: 100 },
    tokenHash: { type: 'string', length: 64, unique: 'access_tokens_hash_unique' },
    scopes: { type: 'string', length: 32 },
    createdAt: { type: 'datetime', length: 3 },
    lastUsedAt: { type: 'datetime', length: 3, nullable: true },
    expiresAt: { type: 'datetime', length: 3, nullable: true },
  },
});
