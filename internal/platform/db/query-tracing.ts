/**
 * A CLIENT span per SQL statement inside a trace (tracing on; runtime.ts calls this once the ORM
 * is open). Every statement MikroORM runs — entity finds, flushes, QueryBuilder and raw `execute` —
 * passes through its connection's `executeQuery` (@mikro-orm/core Connection, 6.6), on the primary
 * and on each replica (a routed replica that hands a statement to the primary is seen once, there).
 * The statement text is the one with placeholders: values (hashes, e-mail addresses) stay out.
 */
import type { Connection, LogContext } from '@mikro-orm/core';
import { inChildSpan, SpanKind } from '../tracing/tracing.ts';
import type { Orm } from './orm.ts';

/** Connection.executeQuery (protected in the typings; every statement's one way through). */
type ExecuteQuery = <T>(query: string, cb: () => Promise<T>, context?: LogContext) => Promise<T>;
type Traceable = { executeQuery: ExecuteQuery; options?: { name?: string } };

export function traceQueries(orm: Orm, system: 'mysql' | 'sqlite'): void {
  const driver = orm.em.getDriver();
  const replicas = (driver as unknown as { replicas?: Connection[] }).replicas ?? [];
  const primary = driver.getConnection('write');
  for (const connection of new Set([primary, ...replicas]) as Set<unknown> as Set<Traceable>) {
    const original: ExecuteQuery = connection.executeQuery.bind(connection);
    const name = connection.options?.name ?? (connection === (primary as unknown) ? 'primary' : 'replica');
    const traced = <T>(query: string, cb: () => Promise<T>, context?: LogContext): Promise<T> => {
      const text = typeof context?.query === 'string' ? context.query : query;
      const operation = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? 'SQL';
      return inChildSpan(
        `db ${operation}`,
        SpanKind.CLIENT,
        { 'db.system.name': system === 'mysql' ? 'mariadb' : 'sqlite', 'db.operation.name': operation, 'db.query.text': text.slice(0, 2000), 'stratus.db.connection': name },
        () => original(query, cb, context),
      );
    };
    connection.executeQuery = traced;
  }
}
