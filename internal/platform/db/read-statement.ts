/**
 * A hand-written SELECT routed like the ORM's own reads. `em.getConnection()` and `em.execute()`
 * default to the primary (routing-driver.ts), so a raw read that used them silently left the
 * replicas idle, and one that used `getConnection()` inside a transaction ran outside it. Here:
 * inside a transaction the statement runs on the transaction (the primary, seeing its own
 * uncommitted rows); outside one it goes to `getConnection('read')`, whose replica connection
 * still sends it to the primary when the request wrote (read-your-writes) or the replica fails.
 * A read whose answer must be current (a reservation, a pre-check before a write) says so by
 * calling `em.execute` on the primary instead.
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';

export function readStatement<T extends Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[]): Promise<T[]> {
  if (em.isInTransaction()) return em.execute<T[]>(sql, params, 'all');
  return em.getConnection('read').execute<T[]>(sql, params, 'all');
}
