/**
 * The shared infrastructure of a process, built once from the Config: logger, database, key-value
 * store and pub/sub, token signer, metrics. Each real dependency replaces its embedded default
 * when its variable is set (DATABASE_URL, REDIS_URL, ...).
 */
import type { EntitySchema } from '@mikro-orm/core';
import { TokenSigner } from './auth/access-token.ts';
import type { Config } from './config.ts';
import { openDatabase, type Orm, type OrmHooks } from './db/orm.ts';
import type { KeyValueStore, PubSub } from './kv/kv.ts';
import { MemoryKeyValueStore, MemoryPubSub } from './kv/memory.kv.ts';
import { RedisKeyValueStore, RedisPubSub } from './kv/redis.kv.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { StorageRouter, defaultRoutingConfig } from '../storage/index.ts';

export interface Runtime {
  config: Config;
  log: Logger;
  orm: Orm;
  kv: KeyValueStore;
  pubsub: PubSub;
  tokens: TokenSigner;
  metrics: Metrics;
  /** The object stores of the routing file (STORAGE_CONFIG, hot-reloaded) or one local backend. */
  storage: StorageRouter;
  /** Named readiness checks; /readyz runs them all. */
  readiness: Map<string, () => Promise<void>>;
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export async function createRuntime(config: Config, entities: EntitySchema[], log?: Logger, hooks: OrmHooks = {}): Promise<Runtime> {
  const logger = log ?? createLogger({ level: config.logLevel });
  const closers: (() => Promise<void> | void)[] = [];
  const orm = await openDatabase(config.database, entities, logger, {}, hooks);
  closers.push(() => orm.close());
  const kv = config.redisUrl ? new RedisKeyValueStore(config.redisUrl) : new MemoryKeyValueStore();
  const pubsub = config.redisUrl ? new RedisPubSub(config.redisUrl) : new MemoryPubSub();
  closers.push(() => kv.close(), () => pubsub.close());
  const storage = config.storageConfigPath
    ? await StorageRouter.fromFile(config.storageConfigPath, { log: logger, watch: true })
    : new StorageRouter(defaultRoutingConfig(config.dataDir), { log: logger });
  closers.push(() => storage.close());
  const readiness = new Map<string, () => Promise<void>>([
    [
      'database',
      async () => {
        await orm.em.fork().getConnection().execute('select 1');
      },
    ],
    ['kv', () => kv.ping()],
  ]);
  return {
    config,
    log: logger,
    orm,
    kv,
    pubsub,
    tokens: new TokenSigner(config.jwtSecret),
    metrics: createMetrics(),
    storage,
    readiness,
    onClose: (fn) => closers.push(fn),
    close: async () => {
      for (const fn of closers.reverse()) await Promise.resolve(fn()).catch((error: unknown) => logger.warn({ err: error }, 'close failed'));
    },
  };
}
