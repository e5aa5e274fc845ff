/**
 * The search's statements (search.statements.ts for SQLite, search.grams.ts for MariaDB), run on
 * a read connection and mapped to rows.
 */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import type { Orm } from '../../platform/db/orm.ts';
import { readStatement } from '../../platform/db/read-statement.ts';
import { FileRow } from '../files.entities.ts';
import type { SearchFilter } from './search.dto.ts';
import { candidateGrams, gramEstimateStatement, gramSearchStatement, rarestGram, shortSearchStatement, trigrams } from './search.grams.ts';
import { sqliteSearchStatement, type SearchPage, type Statement } from './search.statements.ts';

export interface SearchHit {
  row: FileRow;
  rank: number;
}

export class SearchRepository {
  constructor(private readonly orm: Orm) {}

  async search(ownerId: string, key: string, filter: SearchFilter, page: SearchPage): Promise<{ hits: SearchHit[]; hasNextPage: boolean; totalCount: number | null }> {
    const em = this.orm.em.fork() as EntityManager;
    const platform = em.getPlatform();
    const dateParam = (d: Date) => platform.processDateProperty(d);
    let statement: Statement;
    if (/sqlite/i.test(platform.constructor.name)) {
      statement = sqliteSearchStatement(ownerId, key, filter, page, dateParam);
    } else {
      const grams = trigrams(key);
      if (grams.length === 0) {
        statement = shortSearchStatement(ownerId, key, filter, page, dateParam);
      } else {
        const weighed = candidateGrams(grams);
        const estimate = gramEstimateStatement(ownerId, weighed);
        const gram = weighed.length === 1 ? (weighed[0] ?? '') : rarestGram(weighed, await readStatement(em, estimate.sql, estimate.params));
        statement = gramSearchStatement(ownerId, key, gram, filter, page, dateParam);
      }
    }
    const raw = await readStatement(em, statement.sql, statement.params);
    const meta = em.getMetadata().get(FileRow.name);
    const driver = em.getDriver();
    const hits = raw.slice(0, page.first).map((r) => ({ row: driver.mapResult(r, meta) as unknown as FileRow, rank: Number(r.rnk) }));
    // Every row carries the count of all matches; no row (nothing matched, or a cursor past the
    // last match, or first = 0): unknown here.
    const first = raw[0];
    return { hits, hasNextPage: raw.length > page.first, totalCount: first ? Number(first.total_count) : null };
  }
}
