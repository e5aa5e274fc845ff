/** Figures over every person's quota for the metrics (quota.gauges.ts); nothing else reads them. */
import type { SqlEntityManager } from '@mikro-orm/knex';
import type { Orm } from '../platform/db/orm.ts';

export class QuotaStatsRepository {
  constructor(private readonly orm: Orm) {}

  /**
   * People whose usage is at least 90 % of their limit: one statement over `quotas` (a row a person),
   * in integer arithmetic (the same on MariaDB and SQLite, no float rounding), on a read replica when there is one.
   */
  async nearFull(): Promise<number> {
    const em = this.orm.em.fork() as SqlEntityManager;
    const rows = (await em.getConnection('read').execute('select count(*) as n from quotas where limit_bytes > 0 and used_bytes * 10 >= limit_bytes * 9', [], 'all')) as { n: number | string }[];
    return Number(rows[0]?.n ?? 0);
  }
}
