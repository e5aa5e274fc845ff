/**
 * What a tus upload keeps beside its session, in the key-value store (Redis in production, so any
 * replica resumes it):
 *   up:<sid>:tus       hash {index, length, slot}: the stored tail — the bytes after the last whole
 *                      chunk, kept as the object `<storageKey>.tus-tail.<slot>` until a PATCH
 *                      completes that chunk. Valid only while `index` is the first unrecorded
 *                      chunk (tus.rules.ts tusOffset), so a stale record can never add bytes.
 *   up:<sid>:tus-lock  one request writing the upload at a time (PATCH, DELETE), any replica.
 * Both live the session's idle TTL / a short lease. Losing the tail record (Redis lost) only makes
 * the offset smaller: the client resends those bytes; the object is removed with the session.
 */
import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../../platform/kv/kv.ts';

/** The lock lives 30 s and is renewed every 10 s while a PATCH streams. */
export const TUS_LOCK_MS = 30_000;

export interface TusTail {
  index: number;
  length: number;
  /** 0 or 1: a new tail goes to the other slot, so the old stays readable until the new one is recorded. */
  slot: 0 | 1;
}

/** The object holding a session's tail in one of its two slots. */
export function tusTailKey(storageKey: string, slot: 0 | 1): string {
  return `${storageKey}.tus-tail.${slot}`;
}

const keys = (sid: string) => ({ tail: `up:${sid}:tus`, lock: `up:${sid}:tus-lock` });

export class TusStateRepository {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly ttlMs: number,
  ) {}

  async tail(sid: string): Promise<TusTail | null> {
    const raw = await this.kv.hgetall(keys(sid).tail);
    if (raw.index === undefined || raw.length === undefined) return null;
    return { index: Number(raw.index), length: Number(raw.length), slot: raw.slot === '1' ? 1 : 0 };
  }

  async setTail(sid: string, tail: TusTail | null): Promise<void> {
    const key = keys(sid).tail;
    if (!tail) {
      await this.kv.del(key);
      return;
    }
    await this.kv.hset(key, { index: String(tail.index), length: String(tail.length), slot: String(tail.slot) });
    await this.kv.expire(key, this.ttlMs);
  }

  /** A lock token, or null when another request writes the upload. */
  async lock(sid: string): Promise<string | null> {
    const token = randomUUID();
    return (await this.kv.set(keys(sid).lock, token, { ttlMs: TUS_LOCK_MS, ifAbsent: true })) ? token : null;
  }

  /** True while `token` holds the upload's lock. */
  async holds(sid: string, token: string): Promise<boolean> {
    return (await this.kv.get(keys(sid).lock)) === token;
  }

  async renew(sid: string, token: string): Promise<boolean> {
    const key = keys(sid).lock;
    if ((await this.kv.get(key)) !== token) return false;
    return this.kv.expire(key, TUS_LOCK_MS);
  }

  async unlock(sid: string, token: string): Promise<void> {
    const key = keys(sid).lock;
    if ((await this.kv.get(key)) === token) await this.kv.del(key);
  }

  async clear(sid: string): Promise<void> {
    await this.kv.del(keys(sid).tail);
  }
}
