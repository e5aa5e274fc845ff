/** The only code of the accounts service that touches the database. */
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { randomUUID } from 'node:crypto';
import { recordEvent, type ActivityInput } from '../activity/index.ts';
import { AppError } from '../platform/errors.ts';
import type { Orm } from '../platform/db/orm.ts';
import { RefreshTokenRow, UserRow } from './accounts.entities.ts';

export interface NewUser {
  username: string;
  email: string;
  passwordHash: string;
}

export class AccountsRepository {
  constructor(private readonly orm: Orm) {}

  private em() {
    return this.orm.em.fork();
  }

  async findUserById(id: string): Promise<UserRow | null> {
    return this.em().findOne(UserRow, { id });
  }

  async findUsersByIds(ids: readonly string[]): Promise<UserRow[]> {
    return this.em().find(UserRow, { id: { $in: [...ids] } });
  }

  async findUserByLogin(login: string): Promise<UserRow | null> {
    const key = login.toLowerCase();
    return this.em().findOne(UserRow, key.includes('@') ? { email: key } : { usernameKey: key });
  }

  /**
   * Creates the user; the very first one becomes the administrator. A duplicate username or
   * e-mail (also when two registrations race) is CONFLICT naming the field.
   */
  async createUser(input: NewUser): Promise<UserRow> {
    try {
      return await this.em().transactional(async (em) => {
        const first = (await em.count(UserRow, {})) === 0;
        const user = em.create(UserRow, {
          id: randomUUID(),
          username: input.username,
          usernameKey: input.username.toLowerCase(),
          email: input.email,
          passwordHash: input.passwordHash,
          isAdmin: first,
          createdAt: new Date(),
        });
        await em.flush();
        return user;
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        const field = /email/i.test(error.message) ? 'email' : 'username';
        throw new AppError('CONFLICT', `That ${field === 'email' ? 'e-mail' : 'username'} is already registered`, {
          cause: error,
          details: { field, reason: `duplicate_${field}` },
        });
      }
      throw error;
    }
  }

  /** Removes a user who has nothing else yet (a registration that could not be completed). */
  async deleteUser(id: string): Promise<void> {
    await this.em().nativeDelete(UserRow, { id });
  }

  async existsUsernameOrEmail(username: string, email: string): Promise<'username' | 'email' | null> {
    const em = this.em();
    if (await em.count(UserRow, { usernameKey: username.toLowerCase() })) return 'username';
    if (await em.count(UserRow, { email })) return 'email';
    return null;
  }

  /** A new refresh token; a sign-in's event (SIGNED_IN) goes in the same transaction. */
  async insertRefreshToken(row: Omit<RefreshTokenRow, 'id' | 'createdAt' | 'usedAt' | 'revokedAt'>, event?: ActivityInput): Promise<void> {
    await this.em().transactional(async (em) => {
      em.create(RefreshTokenRow, { ...row, id: randomUUID(), createdAt: new Date(), usedAt: null, revokedAt: null });
      await em.flush();
      if (event) await recordEvent(em, event);
    });
  }

  /** An event with no write of its own to go with (a failed sign-in). */
  async recordEvent(event: ActivityInput): Promise<void> {
    await recordEvent(this.em(), event);
  }

  async findRefreshToken(tokenHash: string): Promise<RefreshTokenRow | null> {
    return this.em().findOne(RefreshTokenRow, { tokenHash });
  }

  /** Marks a token used if and only if nobody used it before: true for the one caller that wins. */
  async claimRefreshToken(id: string, now: Date): Promise<boolean> {
    const changed = await this.em().nativeUpdate(RefreshTokenRow, { id, usedAt: null, revokedAt: null }, { usedAt: now });
    return changed === 1;
  }

  async revokeFamily(familyId: string, now: Date): Promise<void> {
    await this.em().nativeUpdate(RefreshTokenRow, { familyId, revokedAt: null }, { revokedAt: now });
  }

  /** Whether any token of the family was revoked (a logout that raced a refresh). */
  async familyRevoked(familyId: string): Promise<boolean> {
    return (await this.em().count(RefreshTokenRow, { familyId, revokedAt: { $ne: null } })) > 0;
  }

  /**
   * Revokes every refresh token of the person, except those of the login `exceptFamily`; the
   * event (logoutAll's TOKEN_REVOKED) goes in the same transaction.
   */
  async revokeUserFamilies(userId: string, now: Date, exceptFamily?: string, event?: ActivityInput): Promise<void> {
    await this.em().transactional(async (em) => {
      await em.nativeUpdate(
        RefreshTokenRow,
        { userId, revokedAt: null, ...(exceptFamily ? { familyId: { $ne: exceptFamily } } : {}) },
        { revokedAt: now },
      );
      if (event) await recordEvent(em, event, now);
    });
  }

  /** The logins of the person that were given a token since `since` (their access tokens may still live). */
  async familiesIssuedSince(userId: string, since: Date): Promise<string[]> {
    const rows = await this.em().find(RefreshTokenRow, { userId, createdAt: { $gte: since } }, { fields: ['familyId'] });
    return [...new Set(rows.map((r) => r.familyId))];
  }

  /** The new password and, in the same transaction, its event (PASSWORD_CHANGED). */
  async updatePasswordHash(userId: string, passwordHash: string, event?: ActivityInput): Promise<void> {
    await this.em().transactional(async (em) => {
      await em.nativeUpdate(UserRow, { id: userId }, { passwordHash });
      if (event) await recordEvent(em, event);
    });
  }
}
