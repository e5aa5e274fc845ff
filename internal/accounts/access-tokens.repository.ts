/** The only code of personal access tokens that touches the database. */
import { randomUUID } from 'node:crypto';
import { recordEvent, type ActivityInput } from '../activity/index.ts';
import type { Orm } from '../platform/db/orm.ts';
import { AccessTokenRow } from './access-tokens.entities.ts';

export interface NewAccessTokenRow {
  userId: string;
  name: string;
  tokenHash: string;
  scopes: string;
  expiresAt: Date | null;
}

export class AccessTokensRepository {
  constructor(private readonly orm: Orm) {}

  private em() {
    return this.orm.em.fork();
  }

  /** Inserts the token and, in the same transaction, its event (TOKEN_CREATED). */
  async insert(row: NewAccessTokenRow, now: Date, event?: ActivityInput): Promise<AccessTokenRow> {
    return this.em().transactional(async (em) => {
      const created = em.create(AccessTokenRow, { ...row, id: randomUUID(), createdAt: now, lastUsedAt: null });
      await em.flush();
      if (event) await recordEvent(em, event, now);
      return created;
    });
  }

  /**
   * The token with this hash, read from the primary: a revoke (a delete on the primary) must refuse
   * the token on the very next request, which a lagging read replica would not see.
   */
  async findByHash(tokenHash: string): Promise<AccessTokenRow | null> {
    return this.em().findOne(AccessTokenRow, { tokenHash }, { connectionType: 'write' });
  }

  async listOf(userId: string, limit: number): Promise<AccessTokenRow[]> {
    return this.em().find(AccessTokenRow, { userId }, { orderBy: { createdAt: 'desc', id: 'asc' }, limit });
  }

  /** Tokens of the person that still work at `now` (the per-person limit counts these). */
  async countLive(userId: string, now: Date): Promise<number> {
    return this.em().count(AccessTokenRow, { userId, $or: [{ expiresAt: null }, { expiresAt: { $gt: now } }] }, { connectionType: 'write' });
  }

  /**
   * Deletes the person's token: true when it was theirs and existed. Its event (TOKEN_REVOKED) goes
   * in the same transaction, and only when a row went: another person's id records nothing.
   */
  async delete(userId: string, id: string, event?: ActivityInput): Promise<boolean> {
    return this.em().transactional(async (em) => {
      const deleted = (await em.nativeDelete(AccessTokenRow, { id, userId })) === 1;
      if (deleted && event) await recordEvent(em, event);
      return deleted;
    });
  }

  /**
   * Records a use unless one was recorded after `staleBefore` (by another request or replica):
   * at most one write a minute per token, however many requests use it.
   */
  async touch(id: string, now: Date, staleBefore: Date): Promise<void> {
    await this.em().nativeUpdate(AccessTokenRow, { id, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: staleBefore } }] }, { lastUsedAt: now });
  }
}
