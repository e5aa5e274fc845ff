/**
 * The key-value and pub/sub port. Redis in production (REDIS_URL), an in-memory implementation in
 * the all-in-one process. Both pass `kv.contract.ts`. Values are strings; TTLs are milliseconds.
 */
export interface SetOptions {
  ttlMs?: number;
  /** Only set when the key does not exist (Redis NX). */
  ifAbsent?: boolean;
}

export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  /** Returns false when `ifAbsent` was given and the key existed. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  del(...keys: string[]): Promise<number>;
  /** Atomically increments; the TTL is set when the key is created. */
  incr(key: string, ttlMs?: number): Promise<number>;
  /** Atomically adds `by` (may be negative) and returns the new value. */
  incrby(key: string, by: number): Promise<number>;
  exists(key: string): Promise<boolean>;
  /** How many of the keys exist (Redis EXISTS with several keys); 0 for none given. */
  countExisting(keys: readonly string[]): Promise<number>;
  /** Remaining time to live in ms; -1 when the key has none, -2 when it does not exist. */
  ttl(key: string): Promise<number>;
  expire(key: string, ttlMs: number): Promise<boolean>;
  hset(key: string, fields: Record<string, string>): Promise<void>;
  /** Sets the field only when it is absent; true when this call set it. */
  hsetnx(key: string, field: string, value: string): Promise<boolean>;
  hlen(key: string): Promise<number>;
  hgetall(key: string): Promise<Record<string, string>>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  /** Deletes the key and returns its value, atomically (one reader wins). */
  getdel(key: string): Promise<string | null>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export type Unsubscribe = () => Promise<void>;

export interface PubSub {
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<Unsubscribe>;
  close(): Promise<void>;
}
