/**
 * WebDAV write locks of a person's drive (RFC 4918 §6, §7, §9.10, §9.11): take, refresh, release,
 * and the check every write runs. A lock is the person's: only they reach their drive, and a lock
 * token is what a client (Finder, Windows, litmus) must submit in the If header to write through it.
 * Errors are CONFLICT with reason `locked` (answered 423 Locked) or `lock_token_unknown` (412/409).
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { LocksRepository } from './locks.repository.ts';
import { conflicts, covers, locksAffecting, MAX_LOCKS_PER_PERSON, type DavLock, type LockDepth, type LockScope } from './locks.rules.ts';

export interface LockRequest {
  root: string;
  href: string;
  depth: LockDepth;
  scope: LockScope;
  owner: string | null;
  timeoutSeconds: number;
}

const locked = (lock: DavLock) =>
  new AppError('CONFLICT', `The item is locked (lock root ${lock.href})`, { details: { reason: 'locked', lockRoot: lock.href } });

export class LocksService {
  constructor(
    private readonly repo: LocksRepository,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every live lock of the person (one read): PROPFIND's lockdiscovery of a whole page uses it. */
  all(userId: string): Promise<DavLock[]> {
    return this.repo.all(userId);
  }

  /** The locks that cover `path` now (lockdiscovery of one resource). */
  async covering(userId: string, path: string): Promise<DavLock[]> {
    return (await this.repo.all(userId)).filter((l) => covers(l, path));
  }

  /** §9.10: a new lock, unless a held one conflicts (423 Locked). */
  async lock(userId: string, wanted: LockRequest): Promise<DavLock> {
    return this.repo.exclusive(userId, async () => {
      const held = await this.repo.all(userId);
      const blocking = held.find((l) => conflicts(l, wanted));
      if (blocking) throw locked(blocking);
      if (held.length >= MAX_LOCKS_PER_PERSON) {
        throw new AppError('CONFLICT', `At most ${MAX_LOCKS_PER_PERSON} locks can be held at once`, { details: { reason: 'locked' } });
      }
      const lock: DavLock = { ...wanted, token: `opaquelocktoken:${randomUUID()}`, expiresAt: this.now() + wanted.timeoutSeconds * 1000 };
      await this.repo.save(userId, lock, held);
      return lock;
    });
  }

  /**
   * §9.10.2: a LOCK without a body refreshes the lock whose token the If header submits and that
   * covers the Request-URI; none → 412 (lock_token_unknown).
   */
  async refresh(userId: string, path: string, submitted: ReadonlySet<string>, timeoutSeconds: number): Promise<DavLock> {
    return this.repo.exclusive(userId, async () => {
      const held = await this.repo.all(userId);
      const lock = held.find((l) => submitted.has(l.token) && covers(l, path));
      if (!lock) throw new AppError('CONFLICT', 'No lock of the submitted tokens covers this resource', { details: { reason: 'lock_token_unknown' } });
      const refreshed = { ...lock, timeoutSeconds, expiresAt: this.now() + timeoutSeconds * 1000 };
      await this.repo.save(userId, refreshed, held);
      return refreshed;
    });
  }

  /**
   * §9.11: removes the lock of `token`, which must cover the Request-URI (else 409 with
   * lock-token-matches-request-uri: reason lock_token_unknown).
   */
  async unlock(userId: string, path: string, token: string): Promise<void> {
    await this.repo.exclusive(userId, async () => {
      const lock = (await this.repo.all(userId)).find((l) => l.token === token);
      if (!lock || !covers(lock, path)) {
        throw new AppError('CONFLICT', 'The lock token does not match a lock of this resource', { details: { reason: 'lock_token_unknown' } });
      }
      await this.repo.remove(userId, [token]);
    });
  }

  /**
   * The check of every write (§7.4, §9.6.1): each lock that covers `path` (with `subtree`, also
   * each lock below it: DELETE/MOVE of a collection) must have its token submitted; of shared
   * locks on one root, one submitted token suffices. CONFLICT locked (423) otherwise.
   */
  async assertWritable(userId: string, path: string, submitted: ReadonlySet<string>, options: { subtree?: boolean } = {}): Promise<void> {
    const affecting = locksAffecting(await this.repo.all(userId), path, options.subtree ?? false);
    for (const lock of affecting) {
      if (submitted.has(lock.token)) continue;
      const sharedHeld = lock.scope === 'shared' && affecting.some((o) => o.scope === 'shared' && o.root === lock.root && submitted.has(o.token));
      if (!sharedHeld) throw locked(lock);
    }
  }

  /** The locks rooted at or below `path` go (the resource was deleted or moved away: §9.6, §9.9.4). */
  async releaseUnder(userId: string, path: string): Promise<void> {
    await this.repo.exclusive(userId, async () => {
      const gone = (await this.repo.all(userId)).filter((l) => covers({ root: path, depth: 'infinity' }, l.root));
      await this.repo.remove(userId, gone.map((l) => l.token));
    });
  }
}
