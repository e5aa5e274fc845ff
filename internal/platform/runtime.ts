/**
 * The shared infrastructure of a process, built once from the Config: logger, database, key-value
 * store and pub/sub, token signer, metrics. Each real dependency replaces its embedded default
 * when its variable is set (DATABASE_URL, REDIS_URL, ...).
 */
import type { EntitySchema } from '@mikro-orm/core';
import { TokenSigner } from './auth/access-token.ts';
import { SessionRevocations } from './auth/session-revocations.ts';
import type { Config } from './config.ts';
import { openDatabase, startReadRouting, type Orm, type OrmHooks } from './db/orm.ts';
import type { ReadRouting } from './db/read-routing.ts';
import type { KeyValueStore, PubSub } from './kv/kv.ts';
import { MemoryKeyValueStore, MemoryPubSub } from './kv/memory.kv.ts';
import { RedisKeyValueStore, RedisPubSub } from './kv/redis.kv.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { StorageRouter, defaultRoutingConfig } from '../storage/index.ts';
import { storeMetricsObserver } from '../storage/routing/store-metrics.observer.ts';
import { trpcMetricsLink } from './rpc/metrics.link.ts';
import type { ClientLinks } from './rpc/client.ts';
import { traceQueries } from './db/query-tracing.ts';
import { trpcTracingLink } from './rpc/tracing.link.ts';
import { tracingEnabled } from './tracing/tracing.ts';
import { storeTracingObserver } from '../storage/routing/store-tracing.observer.ts';

/**
 * A readiness check: rejects when the dependency is not ready. `info`, when present, is extra
 * state /readyz shows under `info.<name>` (it never makes the process unready).
 */
export type ReadinessCheck = (() => Promise<void>) & { info?: () => unknown };

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
  /** Links every tRPC client of this process puts before its transport (metrics; tracing). */
  rpcLinks: ClientLinks;
  /** Named readiness checks; /readyz runs them all. */
  readiness: Map<string, ReadinessCheck>;
  /** Read replicas in rotation and read-your-writes (undefined without DATABASE_REPLICA_URLS). */
  dbReplicas?: ReadRouting;
  onClose(fn: () => Promise<void> | void): void;
  close(): Promise<void>;
}

export async function createRuntime(config: Config, entities: EntitySchema[], log?: Logger, hooks: OrmHooks = {}): Promise<Runtime> {
  const logger = log ?? createLogger({ level: config.logLevel });
  const closers: (() => Promise<void> | void)[] = [];
  const redis = { keyPrefix: config.redisKeyPrefix };
  const kv = config.redisUrl ? new RedisKeyValueStore(config.redisUrl, redis) : new MemoryKeyValueStore();
  const pubsub = config.redisUrl ? new RedisPubSub(config.redisUrl, redis) : new MemoryPubSub();
  closers.push(() => kv.close(), () => pubsub.close());
  const metrics = createMetrics({ commit: config.commit });
  const orm = await openDatabase(config.database, entities, logger, {}, hooks, { defaultQuotaBytes: config.defaultQuotaBytes }).catch(async (error: unknown) => {
    await Promise.allSettled([kv.close(), pubsub.close()]);
    throw error;
  });
  closers.push(() => orm.close());
  if (tracingEnabled()) traceQueries(orm, config.database.kind);
  // Closed before the ORM (closers run in reverse).
  const dbReplicas = await startReadRouting(orm, { kv, log: logger, registry: metrics.registry, options: config.replicaRouting });
  if (dbReplicas) closers.push(() => dbReplicas.stop());
  const observers = [storeMetricsObserver(metrics.storeCalls), ...(tracingEnabled() ? [storeTracingObserver] : [])];
  const storage = config.storageConfigPath
    ? await StorageRouter.fromFile(config.storageConfigPath, { log: logger, watch: true, observers })
    : new StorageRouter(defaultRoutingConfig(config.dataDir), { log: logger, observers });
  closers.push(() => storage.close());
  const readiness = new Map<string, ReadinessCheck>([
    [
      'database',
      async () => {
        await orm.em.fork().getConnection().execute('select 1');
      },
    ],
    ['kv', () => kv.ping()],
  ]);
  // Replicas are informational: with none in rotation reads use the primary, so still ready.
  if (dbReplicas) readiness.set('database-replicas', Object.assign(async () => undefined, { info: () => dbReplicas.snapshot() }));
  return {
    config,
    log: logger,
    orm,
    kv,
    pubsub,
    // Every access-token check also asks the KV store whether its login has ended.
    tokens: new TokenSigner(config.jwtSecret, Date.now, new SessionRevocations(kv, pubsub)),
    metrics,
    storage,
    rpcLinks: [trpcMetricsLink(metrics.trpcClient), ...(tracingEnabled() ? [trpcTracingLink] : [])],
    readiness,
    dbReplicas,
    onClose: (fn) => closers.push(fn),
    close: async () => {
      for (const fn of closers.reverse()) await Promise.resolve(fn()).catch((error: unknown) => logger.warn({ err: error }, 'close failed'));
    },
  };
}
