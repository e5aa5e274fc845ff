/**
 * MikroORM set-up shared by every service: MariaDB/MySQL (primary + read replicas) or SQLite from
 * the same entity definitions, each dialect with its own generated migrations, applied at start.
 */
import { MikroORM, type EntitySchema, type Options } from '@mikro-orm/core';
import type { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { MySqlDriver } from '@mikro-orm/mysql';
import { Migrator } from '@mikro-orm/migrations';
import path from 'node:path';
import { createConnection } from 'mysql2/promise';
import type { Registry } from 'prom-client';
import type { KeyValueStore } from '../kv/kv.ts';
import type { Logger } from '../logger.ts';
import { migrationsFor, type Dialect, type MigrationSettings } from './migrations/index.ts';
import { lazyModule } from '../lazy-module.ts';
import { ensurePrivateDir, ensurePrivateFile } from '../private-files.ts';
import type { ReadRouting, RoutingOptions } from './read-routing.ts';
import { RoutingMySqlDriver } from './routing-driver.ts';

export type DatabaseOptions =
  | { kind: 'sqlite'; file: string }
  | { kind: 'mysql'; url: string; replicaUrls: string[] };

export type Orm = MikroORM;

// The SQLite driver (and its native addon) is loaded only where SQLite is configured: a MariaDB
// deployment would carry ~10 MiB of its code for nothing.
const sqliteDriver = lazyModule<{ BetterSqliteDriver: typeof BetterSqliteDriver }>('@mikro-orm/better-sqlite');

export function dialectOf(options: DatabaseOptions): Dialect {
  return options.kind === 'sqlite' ? 'sqlite' : 'mysql';
}

export interface OrmHooks {
  /** Called with every SQL statement (tests count statements per request with it). */
  onQuery?: (sql: string) => void;
}

export function ormOptions(
  options: DatabaseOptions,
  entities: EntitySchema[],
  logger?: Logger,
  extra: Partial<Options> = {},
  hooks: OrmHooks = {},
  /** What data migrations take from the configuration (DEFAULT_QUOTA_BYTES); config.ts's defaults when left out. */
  settings?: MigrationSettings,
): Options {
  const common: Partial<Options> = {
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList: migrationsFor(dialectOf(options), settings),
      // MySQL commits DDL implicitly, so a migration transaction there is a lie; SQLite has real ones.
      transactional: dialectOf(options) === 'sqlite',
      allOrNothing: dialectOf(options) === 'sqlite',
      snapshot: false,
      emit: 'ts',
    },
    // The search indexes are no entity's, so the diff skips them: SQLite's FTS5 `files_name_fts`
    // and its shadow tables (migration *_search_keys; untyped columns the schema reader cannot
    // map) and MariaDB's trigram table `search_grams` (migration *_search_grams, kept by triggers).
    schemaGenerator: { skipTables: [/^files_name_fts/, 'search_grams'] },
    // Every request forks its own EntityManager; the global one is never used.
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: hooks.onQuery ? ['query'] : false,
    discovery: { warnWhenNoEntities: false },
    logger: (message: string) => {
      if (hooks.onQuery && message.includes('[query]')) hooks.onQuery(message);
      else logger?.debug({ orm: true }, message);
    },
    ...extra,
  };
  switch (options.kind) {
    case 'sqlite':
      // The database holds every account: owner-only (0600 in a 0700 folder), also for a file an
      // older version made 0644. SQLite gives its -wal/-shm/-journal files the database's mode.
      ensurePrivateDir(path.dirname(options.file));
      ensurePrivateFile(options.file);
      return { ...common, driver: sqliteDriver().BetterSqliteDriver, dbName: options.file } as Options;
    case 'mysql':
      return {
        ...common,
        // With replicas: reads routed by replica health and read-your-writes (read-routing.ts).
        driver: options.replicaUrls.length ? RoutingMySqlDriver : MySqlDriver,
        clientUrl: options.url,
        replicas: options.replicaUrls.map((clientUrl, i) => ({ name: `replica-${i}`, clientUrl })),
        preferReadReplicas: true,
        pool: { min: 0, max: 10 },
      } as Options;
  }
}

/** Connects and brings the schema up to date (migrations are idempotent; safe on every start). */
export async function openDatabase(
  options: DatabaseOptions,
  entities: EntitySchema[],
  logger?: Logger,
  extra: Partial<Options> = {},
  hooks: OrmHooks = {},
  settings?: MigrationSettings,
): Promise<Orm> {
  const orm = await MikroORM.init(ormOptions(options, entities, logger, extra, hooks, settings));
  try {
    await withMigrationLock(options, () => orm.getMigrator().up());
  } catch (error) {
    await orm.close();
    throw error;
  }
  return orm;
}

/**
 * Starts replica health monitoring and read-your-writes for an ORM opened with read replicas
 * (awaits the first health round); undefined when there are none (every statement uses the primary).
 */
export async function startReadRouting(
  orm: Orm,
  deps: { kv?: KeyValueStore; log?: Logger; registry?: Registry; options: RoutingOptions },
): Promise<ReadRouting | undefined> {
  const driver = orm.em.getDriver();
  if (!(driver instanceof RoutingMySqlDriver)) return undefined;
  await driver.routing.start(driver.probes(), deps);
  return driver.routing;
}

/**
 * Replicas of a service start together; each applies pending migrations at start. A named MySQL
 * lock (GET_LOCK, held on a connection of its own) lets one do it while the others wait, then
 * find nothing left to apply. SQLite is one process's file: no lock needed.
 */
async function withMigrationLock<T>(options: DatabaseOptions, fn: () => Promise<T>): Promise<T> {
  if (options.kind !== 'mysql') return fn();
  const connection = await createConnection(options.url);
  try {
    const [rows] = await connection.query("SELECT GET_LOCK('stratus_migrations', 300) AS got");
    if ((rows as { got: number }[])[0]?.got !== 1) throw new Error('could not take the migration lock within 300 s');
    try {
      return await fn();
    } finally {
      await connection.query("SELECT RELEASE_LOCK('stratus_migrations')");
    }
  } finally {
    await connection.end();
  }
}
