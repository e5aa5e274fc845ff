/**
 * MikroORM's MySQL driver with read routing (read-routing.ts) in the two places every statement
 * passes through.
 *
 * What MikroORM 6.6 does by itself with `replicas` + `preferReadReplicas` (checked in
 * node_modules/@mikro-orm, 6.6.16):
 * - `DatabaseDriver.getConnection(type)` (core/drivers/DatabaseDriver.js:80): 'write', or no
 *   replicas -> the primary; 'read' -> a random replica, with no notion of health or lag.
 * - `AbstractSqlDriver.resolveConnectionType` (knex/AbstractSqlDriver.js:1089): a transaction
 *   context -> 'write'; an explicit `connectionType` option wins; else preferReadReplicas -> 'read'.
 *   So `em.find/findOne/count` on a fork outside a transaction read from a replica.
 * - `QueryBuilder.execute` (knex/query/QueryBuilder.js:690-706): INSERT/UPDATE/DELETE/TRUNCATE
 *   and method 'run' -> 'write'; other statements -> 'read' unless the QB has a type. Inside a
 *   transaction a QB made by the EM can still ask for 'read' but carries the transaction, which
 *   runs on the primary's connection.
 * - `em.getConnection()` / `em.execute()` default to 'write' (the primary); transactions
 *   `begin/commit` on `getConnection('write')` (core/EntityManager.js:1008).
 * - `ForkOptions` has no read-replica switch (core/EntityManager.d.ts:591), so the per-request
 *   choice cannot be made per fork; it is made here, from the AsyncLocalStorage request context.
 */
import type { AnyEntity, Configuration, ConnectionType, EntityData, LoggingOptions, QueryResult, Transaction } from '@mikro-orm/core';
import { MySqlConnection, type Knex } from '@mikro-orm/knex';
import { MySqlDriver } from '@mikro-orm/mysql';
import { ReadRouting, isConnectionError, isWriteStatement, type ReplicaProbe, type SlaveStatus } from './read-routing.ts';

type Method = 'all' | 'get' | 'run';
type Sql = string | Knex.QueryBuilder | Knex.Raw;

class RoutedMySqlConnection extends MySqlConnection {
  private routing: ReadRouting | undefined;
  private primary: RoutedMySqlConnection | undefined;

  get replicaName(): string {
    return this.options.name ?? (this.isReplica ? 'replica' : 'primary');
  }

  get isReplica(): boolean {
    return this.type === 'read';
  }

  attach(routing: ReadRouting, primary: RoutedMySqlConnection): void {
    this.routing = routing;
    this.primary = primary;
  }

  /** knex writes pool warnings ("Connection Error: ...") to the console; send them to the ORM logger. */
  protected override getKnexOptions(type: string): Knex.Config {
    const say = (message: unknown) => this.logger.warn('info', `knex (${this.replicaName}): ${String(message)}`, { enabled: true });
    return { ...super.getKnexOptions(type), log: { warn: say, error: say, deprecate: say, debug: () => undefined } };
  }

  /** The replica's replication state, read on its own connection pool (never routed). */
  async slaveStatus(): Promise<SlaveStatus | undefined> {
    const [rows] = (await this.getKnex().raw('SHOW SLAVE STATUS')) as [SlaveStatus[]];
    return rows[0];
  }

  override async execute<T extends QueryResult | EntityData<AnyEntity> | EntityData<AnyEntity>[] = EntityData<AnyEntity>[]>(
    query: Sql,
    params: unknown[] = [],
    method: Method = 'all',
    ctx?: Transaction,
    loggerContext?: LoggingOptions,
  ): Promise<T> {
    const { routing, primary } = this;
    if (!routing || !primary) return super.execute<T>(query, params, method, ctx, loggerContext);
    if (this.isReplica) {
      // A transaction's statements belong to the primary; so do the reads of a request that wrote.
      if (ctx || (await routing.mustReadPrimary())) return primary.execute<T>(query, params, method, ctx, loggerContext);
      try {
        return await super.execute<T>(query, params, method, ctx, loggerContext);
      } catch (error) {
        if (!isConnectionError(error)) throw error;
        routing.markDown(this.replicaName, error);
        return primary.execute<T>(query, params, method, ctx, loggerContext);
      }
    }
    if (!isWriteStatement(typeof query === 'string' ? query : query.toSQL().sql, method)) {
      return super.execute<T>(query, params, method, ctx, loggerContext);
    }
    // Noted even when the write fails: a duplicate key says the primary holds a row the replica
    // may not have yet, and the caller's next step is usually to read that row.
    try {
      return await super.execute<T>(query, params, method, ctx, loggerContext);
    } finally {
      await routing.noteWrite();
    }
  }
}

export class RoutingMySqlDriver extends MySqlDriver {
  readonly routing: ReadRouting;

  constructor(config: Configuration) {
    super(config);
    // The parent made plain MySqlConnections (not connected yet: knex is created on connect());
    // replace them with routed ones built from the same options.
    const primary = new RoutedMySqlConnection(this.config);
    const replicas = this.createReplicas((options) => new RoutedMySqlConnection(this.config, options, 'read')) as RoutedMySqlConnection[];
    this.routing = new ReadRouting(replicas.map((r) => r.replicaName));
    for (const connection of [primary, ...replicas]) connection.attach(this.routing, primary);
    Object.assign(this, { connection: primary, replicas });
  }

  override getConnection(type: ConnectionType = 'write'): MySqlConnection {
    if (type === 'write') return this.connection;
    return this.routing.pick(this.replicas as RoutedMySqlConnection[], (r) => r.replicaName) ?? this.connection;
  }

  probes(): ReplicaProbe[] {
    return (this.replicas as RoutedMySqlConnection[]).map((r) => ({ name: r.replicaName, slaveStatus: () => r.slaveStatus() }));
  }
}
