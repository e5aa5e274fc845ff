/** In-memory KeyValueStore and PubSub for the single-process mode and for fast unit tests. */
import type { KeyValueStore, PubSub, SetOptions, Unsubscribe } from './kv.ts';

interface Entry {
  value: string | Map<string, string>;
  expiresAt: number | undefined;
}

export class MemoryKeyValueStore implements KeyValueStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private str(key: string): string | null {
    const entry = this.live(key);
    if (!entry) return null;
    if (typeof entry.value !== 'string') throw new Error(`WRONGTYPE ${key} holds a hash`);
    return entry.value;
  }

  private hash(key: string, create: boolean): Map<string, string> | undefined {
    const entry = this.live(key);
    if (!entry) {
      if (!create) return undefined;
      const map = new Map<string, string>();
      this.entries.set(key, { value: map, expiresAt: undefined });
      return map;
    }
    if (typeof entry.value === 'string') throw new Error(`WRONGTYPE ${key} holds a string`);
    return entry.value;
  }

  async get(key: string): Promise<string | null> {
    return this.str(key);
  }

  async set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    if (options.ifAbsent && this.live(key)) return false;
    const expiresAt = options.ttlMs === undefined ? undefined : this.now() + options.ttlMs;
    this.entries.set(key, { value, expiresAt });
    return true;
  }

  async del(...keys: string[]): Promise<number> {
    let removed = 0;
    for (const key of keys) if (this.live(key) && this.entries.delete(key)) removed++;
    return removed;
  }

  async incr(key: string, ttlMs?: number): Promise<number> {
    const current = this.str(key);
    const next = (current === null ? 0 : Number.parseInt(current, 10)) + 1;
    if (current === null) {
      this.entries.set(key, { value: String(next), expiresAt: ttlMs === undefined ? undefined : this.now() + ttlMs });
    } else {
      const entry = this.entries.get(key);
      if (entry) entry.value = String(next);
    }
    return next;
  }

  async incrby(key: string, by: number): Promise<number> {
    const current = this.str(key);
    const next = (current === null ? 0 : Number.parseInt(current, 10)) + by;
    const entry = this.entries.get(key);
    if (current !== null && entry) entry.value = String(next);
    else this.entries.set(key, { value: String(next), expiresAt: undefined });
    return next;
  }

  async exists(key: string): Promise<boolean> {
    return this.live(key) !== undefined;
  }

  async countExisting(keys: readonly string[]): Promise<number> {
    return keys.filter((key) => this.live(key) !== undefined).length;
  }

  async ttl(key: string): Promise<number> {
    const entry = this.live(key);
    if (!entry) return -2;
    return entry.expiresAt === undefined ? -1 : entry.expiresAt - this.now();
  }

  async expire(key: string, ttlMs: number): Promise<boolean> {
    const entry = this.live(key);
    if (!entry) return false;
    entry.expiresAt = this.now() + ttlMs;
    return true;
  }

  async hset(key: string, fields: Record<string, string>): Promise<void> {
    const map = this.hash(key, true);
    for (const [field, value] of Object.entries(fields)) map?.set(field, value);
  }

  async hsetnx(key: string, field: string, value: string): Promise<boolean> {
    const map = this.hash(key, true);
    if (!map || map.has(field)) return false;
    map.set(field, value);
    return true;
  }

  async hlen(key: string): Promise<number> {
    return this.hash(key, false)?.size ?? 0;
  }

  async hgetall(key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.hash(key, false) ?? []);
  }

  async hdel(key: string, ...fields: string[]): Promise<number> {
    const map = this.hash(key, false);
    if (!map) return 0;
    let removed = 0;
    for (const field of fields) if (map.delete(field)) removed++;
    if (map.size === 0) this.entries.delete(key);
    return removed;
  }

  async getdel(key: string): Promise<string | null> {
    const value = this.str(key);
    if (value !== null) this.entries.delete(key);
    return value;
  }

  async ping(): Promise<void> {}

  /** Test helper mirroring Redis FLUSHALL. */
  flushAll(): void {
    this.entries.clear();
  }

  async close(): Promise<void> {}
}

export class MemoryPubSub implements PubSub {
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  async publish(channel: string, message: string): Promise<void> {
    for (const handler of this.channels.get(channel) ?? []) {
      // Delivered on a later tick, as Redis would: a publisher never runs subscriber code inline.
      queueMicrotask(() => handler(message));
    }
  }

  async subscribe(channel: string, onMessage: (message: string) => void): Promise<Unsubscribe> {
    let handlers = this.channels.get(channel);
    if (!handlers) this.channels.set(channel, (handlers = new Set()));
    const handler = (message: string) => onMessage(message);
    handlers.add(handler);
    return async () => {
      handlers.delete(handler);
      if (handlers.size === 0) this.channels.delete(channel);
    };
  }

  async close(): Promise<void> {
    this.channels.clear();
  }
}
