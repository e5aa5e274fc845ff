/** Database model of accounts: users and refresh tokens (MikroORM EntitySchema, no decorators). */
import { EntitySchema } from '@mikro-orm/core';
import { AccessTokenSchema } from './access-tokens.entities.ts';

export class UserRow {
  id!: string;
  username!: string;
  /** Lower-cased username: uniqueness is case-insensitive ("Alice" and "alice" are one person). */
  usernameKey!: string;
  email!: string;
  passwordHash!: string;
  isAdmin!: boolean;
  createdAt!: Date;
}

export const UserSchema = new EntitySchema<UserRow>({
  class: UserRow,
  tableName: 'users',
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    username: { type: 'string', length: 32 },
    usernameKey: { type: 'string', length: 32, unique: 'users_username_key_unique' },
    email: { type: 'string', length: 254, unique: 'users_email_unique' },
    passwordHash: { type: 'string', length: 255 },
    isAdmin: { type: 'boolean', default: false },
    createdAt: { type: 'datetime', length: 3 },
  },
});

export class RefreshTokenRow {
  id!: string;
  userId!: string;
  /** Every token rotated from one login shares a family; reuse of a rotated token revokes it all. */
  familyId!: string;
  /** SHA-256 of the opaque token; the token itself is never stored. */
  tokenHash!: string;
  expiresAt!: Date;
  usedAt?: Date | null;
  revokedAt?: Date | null;
  createdAt!: Date;
}

export const RefreshTokenSchema = new EntitySchema<RefreshTokenRow>({
  class: RefreshTokenRow,
  tableName: 'refresh_tokens',
  properties: {
    id: { type: 'string', primary: true, length: 36 },
    userId: { type: 'string', length: 36, index: 'refresh_tokens_user_idx' },
    familyId: { type: 'string', length: 36, index: 'refresh_tokens_family_idx' },
    tokenHash: { type: 'string', length: 64, unique: 'refresh_tokens_hash_unique' },
    expiresAt: { type: 'datetime', length: 3 },
    usedAt: { type: 'datetime', length: 3, nullable: true },
    revokedAt: { type: 'datetime', length: 3, nullable: true },
    createdAt: { type: 'datetime', length: 3 },
  },
});

export const accountEntities = [UserSchema, RefreshTokenSchema, AccessTokenSchema];
