/** The search's one statement (search.statements.ts), run on a read connection and mapped to rows. */
import type { SqlEntityManager as EntityManager } from '@mikro-orm/knex';
import type { Orm } from '../../platform/db/orm.ts';
import { readStatement } from '../../platform/db/read-statement.ts';
import { FileRow } from '../files.entities.ts';
import type { SearchFilter } from './search.dto.ts';
import { searchStatement, type SearchCursor } from './search.statements.ts';

export interface SearchHit {
  row: FileRow;
  rank: number;
}

export class SearchRepository {
  constructor(private readonly orm: Orm) {}

  async search(ownerId: string, key: string, filter: SearchFilter, page: { first: number; after?: SearchCursor }): Promise<{ hits: SearchHit[]; hasNextPage: boolean; totalCount: number | null }> {
    const em = this.orm.em.fork() as EntityManager;
    const platform = em.getPlatform();
    const dialect = /sqlite/i.test(platform.constructor.name) ? 'sqlite' : 'mysql';
    const { sql, params } = searchStatement(dialect, ownerId, key, filter, page, (d) => platform.processDateProperty(d));
    const raw = await readStatement(em, sql, params);
    const meta = em.getMetadata().get(FileRow.name);
    const driver = em.getDriver();
    const hits = raw.slice(0, page.first).map((r) => ({ row: driver.mapResult(r, meta) as unknown as FileRow, rank: Number(r.rnk) }));
    // Every row carries the count of all matches; no row (nothing matched, or a cursor past the
    // last match, or first = 0): unknown here.
    const first = raw[0];
    return { hits, hasNextPage: raw.length > page.first, totalCount: first ? Number(first.total_count) : null };
  }
}
