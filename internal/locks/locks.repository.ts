/**
 * Where WebDAV locks live: the shared key-value store (Redis in production, memory in the
 * all-in-one process), so every gateway replica sees the same locks. One hash per person
 * (`dav:locks:<userId>`, field = lock token, value = the lock as JSON); the hash expires with its
 * longest-lived lock, and expired fields are dropped whenever the hash is read.
 * Changes of one person's locks are serialized by a short mutex key (check-then-set across replicas).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { DavLock } from './locks.rules.ts';

const MUTEX_TTL_MS = 5_000;
const MUTEX_WAIT_MS = 5_000;

export class LocksRepository {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly now: () => number = Date.now,
  ) {}

  private key(userId: string): string {
    return `dav:locks:${userId}`;
  }

  /** The person's live locks (expired ones are removed on the way). */
  async all(userId: string): Promise<DavLock[]> {
    const fields = await this.kv.hgetall(this.key(userId));
    const live: DavLock[] = [];
    const expired: string[] = [];
    for (const [token, json] of Object.entries(fields)) {
      const lock = parse(json);
      if (lock && lock.expiresAt > this.now()) live.push(lock);
      else expired.push(token);
    }
    if (expired.length > 0) await this.kv.hdel(this.key(userId), ...expired);
    return live;
  }

  async save(userId: string, lock: DavLock, others: readonly DavLock[]): Promise<void> {
    await this.kv.hset(this.key(userId), { [lock.token]: JSON.stringify(lock) });
    const last = Math.max(lock.expiresAt, ...others.map((l) => l.expiresAt));
    await this.kv.expire(this.key(userId), Math.max(1, last - this.now()));
  }

  async remove(userId: string, tokens: readonly string[]): Promise<void> {
    if (tokens.length > 0) await this.kv.hdel(this.key(userId), ...tokens);
  }

  /** Runs `fn` holding the person's lock mutex (all replicas); UNAVAILABLE when it stays taken. */
  async exclusive<T>(userId: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.key(userId)}:mutex`;
    const mine = randomUUID();
    const deadline = Date.now() + MUTEX_WAIT_MS;
    while (!(await this.kv.set(key, mine, { ifAbsent: true, ttlMs: MUTEX_TTL_MS }))) {
      if (Date.now() > deadline) throw new AppError('UNAVAILABLE', 'The locks of this drive are busy; try again');
      await sleep(10 + Math.random() * 20);
    }
    try {
      return await fn();
    } finally {
      // Only our own mutex goes (it may have expired and been taken by another replica meanwhile).
      if ((await this.kv.get(key)) === mine) await this.kv.del(key);
    }
  }
}

function parse(json: string): DavLock | null {
  try {
    const value = JSON.parse(json) as DavLock;
    return typeof value.token === 'string' && typeof value.expiresAt === 'number' ? value : null;
  } catch {
    return null;
  }
}
