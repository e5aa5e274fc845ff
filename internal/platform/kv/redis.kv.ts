/** Redis implementation of the KeyValueStore and PubSub ports (ioredis). */
import { Redis } from 'ioredis';
import { AppError } from '../errors.ts';
import type { KeyValueStore, PubSub, SetOptions, Unsubscribe } from './kv.ts';
import { tracingEnabled } from '../tracing/tracing.ts';
import { traceCommands } from './redis.tracing.ts';

/** `keyPrefix`: put before every key (ioredis does it for each command's key arguments). */
export interface RedisOptions {
  keyPrefix?: string;
}

function connect(url: string, name: string, keyPrefix = ''): Redis {
  const client = new Redis(url, {
    connectionName: name,
    ...(keyPrefix ? { keyPrefix } : {}),
    // Fail a command fast when Redis is down instead of queueing it forever; callers see UNAVAILABLE.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
  });
  return tracingEnabled() ? traceCommands(client) : client;
}

async function guard<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw new AppError('UNAVAILABLE', 'The key-value store is unavailable', { cause: error });
  }
}

export class RedisKeyValueStore implements KeyValueStore {
  readonly client: Redis;

  constructor(url: string, options: RedisOptions = {}) {
    this.client = connect(url, 'stratus-kv', options.keyPrefix);
  }

  get(key: string) {
    return guard(() => this.client.get(key));
  }

  set(key: string, value: string, options: SetOptions = {}): Promise<boolean> {
    return guard(async () => {
      const args: (string | number)[] = [];
      if (options.ttlMs !== undefined) args.push('PX', Math.max(1, Math.ceil(options.ttlMs)));
      if (options.ifAbsent) args.push('NX');
      const result = await this.client.call('SET', key, value, ...args);
      return result === 'OK';
    });
  }

  del(...keys: string[]) {
    return guard(() => (keys.length === 0 ? Promise.resolve(0) : this.client.del(...keys)));
  }

  incr(key: string, ttlMs?: number): Promise<number> {
    return guard(async () => {
      const pipeline = this.client.multi().incr(key);
      // NX: the TTL is set only when the key is new (Redis >= 7), so a window never slides.
      if (ttlMs !== undefined) pipeline.call('PEXPIRE', key, Math.ceil(ttlMs), 'NX');
      const results = await pipeline.exec();
      const [error, value] = results?.[0] ?? [new Error('empty MULTI reply'), null];
      if (error) throw error;
      return Number(value);
    });
  }

  incrby(key: string, by: number) {
    return guard(() => this.client.incrby(key, by));
  }

  exists(key: string) {
    return guard(async () => (await this.client.exists(key)) === 1);
  }

  countExisting(keys: readonly string[]) {
    // One EXISTS per 1 000 keys: a 10 000-chunk session is 10 round trips, not 10 000.
    return guard(async () => {
      let count = 0;
      for (let i = 0; i < keys.length; i += 1000) count += await this.client.exists(...keys.slice(i, i + 1000));
      return count;
    });
  }

  ttl(key: string) {
    return guard(() => this.client.pttl(key));
  }

  expire(key: string, ttlMs: number) {
    return guard(async () => (await this.client.pexpire(key, Math.ceil(ttlMs))) === 1);
  }

  hset(key: string, fields: Record<string, string>) {
    return guard(async () => {
      if (Object.keys(fields).length > 0) await this.client.hset(key, fields);
    });
  }

  hsetnx(key: string, field: string, value: string) {
    return guard(async () => (await this.client.hsetnx(key, field, value)) === 1);
  }

  hlen(key: string) {
    return guard(() => this.client.hlen(key));
  }

  hgetall(key: string) {
    return guard(() => this.client.hgetall(key));
  }

  hdel(key: string, ...fields: string[]) {
    return guard(() => (fields.length === 0 ? Promise.resolve(0) : this.client.hdel(key, ...fields)));
  }

  getdel(key: string) {
    return guard(() => this.client.getdel(key));
  }

  ping() {
    return guard(async () => {
      await this.client.ping();
    });
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/**
 * Pub/sub over Redis: one connection publishes, one subscribes (Redis forbids mixing them).
 * Channels are not keys, so ioredis leaves them alone: the key prefix is put before them here.
 * `handlers` is keyed by the channel as Redis names it (prefixed).
 */
export class RedisPubSub implements PubSub {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(message: string) => void>>();
  private readonly prefix: string;

  constructor(url: string, options: RedisOptions = {}) {
    this.prefix = options.keyPrefix ?? '';
    this.publisher = connect(url, 'stratus-pub');
    this.subscriber = connect(url, 'stratus-sub');
    this.subscriber.on('message', (channel: string, message: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(message);
    });
  }

  publish(name: string, message: string) {
    return guard(async () => {
      await this.publisher.publish(this.prefix + name, message);
    });
  }

  async subscribe(name: string, onMessage: (message: string) => void): Promise<Unsubscribe> {
    const channel = this.prefix + name;
    let set = this.handlers.get(channel);
    if (!set) {
      this.handlers.set(channel, (set = new Set()));
      await guard(() => this.subscriber.subscribe(channel));
    }
    const handler = (message: string) => onMessage(message);
    set.add(handler);
    return async () => {
      set.delete(handler);
      if (set.size === 0 && this.handlers.get(channel) === set) {
        this.handlers.delete(channel);
        await this.subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  async close(): Promise<void> {
    await Promise.all([
      this.publisher.quit().catch(() => this.publisher.disconnect()),
      this.subscriber.quit().catch(() => this.subscriber.disconnect()),
    ]);
  }
}
