/**
 * Search (issue 22 item 2): 100 000 items of one person on MariaDB (the in-process app, so
 * `t.queries` sees every SQL statement), then a mix of queries through GraphQL `search`:
 * word prefixes, substrings inside words, accents and case, several words, a filter, a broad
 * one-letter query, a miss, and a second page. Latency p50/p95 over all of them (target: p95
 * below 50 ms) and the SQL statements per search, which must not depend on the result size.
 * The rows are inserted in bulk SQL (1 000 a statement) with the keys the app would write
 * (names.ts nameKey, search-key.ts searchKey): the rows matter here, not the bytes.
 */
import { randomUUID } from 'node:crypto';
import { nameKey } from '../internal/files/names.ts';
import { searchKey } from '../internal/files/search/search-key.ts';
import { SearchRepository } from '../internal/files/search/search.repository.ts';
import type { TestApp } from '../test/support/app.ts';
import type { Row } from './lib/report.ts';
import { log } from './lib/stack.ts';
import { percentile, round } from './lib/stats.ts';
import type { User } from './lib/target.ts';

export interface SearchBenchOptions {
  t: TestApp;
  owner: User;
  files: number;
}

const WORDS = ['invoice', 'Résumé', 'report', 'holiday', 'budget', 'contract', 'meeting notes', 'Übersicht', 'Straße', 'passport', 'presentation', 'receipt', 'backup', 'design', 'draft', 'photo', 'scan', 'export', 'Quarterly', 'family'];
const EXTS: [string, string][] = [['pdf', 'application/pdf'], ['jpg', 'image/jpeg'], ['png', 'image/png'], ['docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'], ['txt', 'text/plain'], ['mp4', 'video/mp4'], ['xlsx', 'application/vnd.ms-excel']];

/** A realistic name for item i: word-based names, camera names, dated exports (all unique: i is in each). */
function nameOf(i: number): { name: string; mime: string } {
  const [ext, mime] = EXTS[i % EXTS.length] ?? ['bin', 'application/octet-stream'];
  const word = WORDS[(i * 7) % WORDS.length] ?? 'file';
  const other = WORDS[(i * 13 + 5) % WORDS.length] ?? 'misc';
  const year = 2015 + (i % 11);
  switch (i % 4) {
    case 0:
      return { name: `${word} ${year}-${String(i).padStart(6, '0')}.${ext}`, mime };
    case 1:
      return { name: `IMG_${year}${String(i % 1231).padStart(4, '0')}_${String(i).padStart(6, '0')}.jpg`, mime: 'image/jpeg' };
    case 2:
      return { name: `${word}_${other} v${i}.${ext}`, mime };
    default:
      return { name: `${other.toUpperCase()} (${i}) final.${ext}`, mime };
  }
}

async function fill(t: TestApp, owner: User, count: number): Promise<void> {
  const conn = t.app.runtime.orm.em.getConnection();
  const root = `/${owner.userId}/`;
  // 100 folders below the root; the files spread over them (a folder's name is searched too).
  const folders = Array.from({ length: 100 }, (_, i) => ({ id: randomUUID(), name: `${WORDS[i % WORDS.length] ?? 'folder'} folder ${i}` }));
  const started = performance.now();
  const base = Date.now() - count * 1000;
  const columns = 'id, owner_id, parent_id, name, name_key, search_key, path, is_folder, size, blob_id, content_hash, mime_type, trash_key, trashed_at, trashed_by, created_at, updated_at';
  type Values = unknown[];
  const insert = async (rows: Values[]) => {
    const marks = rows.map(() => `(${Array.from({ length: 17 }, () => '?').join(', ')})`).join(', ');
    await conn.execute(`insert into files (${columns}) values ${marks}`, rows.flat(), 'run');
  };
  await insert(folders.map((f, i) => [f.id, owner.userId, owner.userId, f.name, nameKey(f.name), searchKey(f.name), `${root}${f.id}/`, 1, 0, null, null, null, '', null, null, new Date(base + i), new Date(base + i)]));
  for (let start = 0; start < count - folders.length; start += 1000) {
    const rows: Values[] = [];
    for (let i = start; i < Math.min(start + 1000, count - folders.length); i++) {
      const { name, mime } = nameOf(i);
      const folder = folders[i % folders.length] ?? folders[0];
      if (!folder) throw new Error('no folder');
      const id = randomUUID();
      const at = new Date(base + i * 1000);
      rows.push([id, owner.userId, folder.id, name, nameKey(name), searchKey(name), `${root}${folder.id}/${id}/`, 0, 1000 + (i % 5000) * 1000, null, null, mime, '', null, null, at, at]);
    }
    await insert(rows);
  }
  await conn.execute('analyze table files', [], 'all');
  log(`search: ${count} rows in ${round((performance.now() - started) / 1000)} s`);
}

const SEARCH = `query($q: String!, $first: Int, $after: String, $filter: SearchFilter) { search(query: $q, first: $first, after: $after, filter: $filter) {
  edges { cursor node { id name size mimeType isFolder updatedAt } } pageInfo { hasNextPage endCursor } totalCount } }`;

interface Result {
  search: { edges: { node: { name: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number };
}

/** The mix: [label, query, filter?, second page?]. */
const MIX: [string, string, Record<string, unknown>?, boolean?][] = [
  ['word prefix', 'invoice'],
  ['accent + case', 'RESUME'],
  ['accent in query', 'übersicht'],
  ['ß folds to ss', 'strasse'],
  ['inside a word', 'port'],
  ['digits inside', '004217'],
  ['two words', 'meeting notes 2019'],
  ['camera names', 'img 2021'],
  ['with filter', 'holiday', { mimeTypePrefix: 'image/', minSize: 100_000 }],
  ['folders only', 'folder', { foldersOnly: true }],
  ['broad (one letter)', 'e'],
  ['broad (extension)', 'pdf'],
  ['miss', 'zyzzyva'],
  ['second page', 'report', undefined, true],
];

export async function benchSearch({ t, owner, files }: SearchBenchOptions): Promise<Row[]> {
  await fill(t, owner, files);
  const run = (q: string, filter?: Record<string, unknown>, after?: string | null) => owner.api.gql<Result>(SEARCH, { q, first: 50, after: after ?? null, filter: filter ?? null });
  for (const [, q, filter] of MIX) await run(q, filter); // warm-up: connections, plans, buffer pool
  const all: number[] = [];
  const statements: number[] = [];
  const perQuery: string[] = [];
  for (const [label, q, filter, second] of MIX) {
    const ms: number[] = [];
    let total = 0;
    const after = second ? (await run(q, filter)).search.pageInfo.endCursor : null;
    for (let i = 0; i < 30; i++) {
      const before = t.queries.length;
      const started = performance.now();
      const r = await run(q, filter, after);
      ms.push(performance.now() - started);
      statements.push(t.queries.length - before);
      if (i === 0 && label === 'miss') log(`search: the statements of one request: ${t.queries.slice(before).map((q) => q.replace(/\s+/g, ' ').slice(0, 160)).join(' | ')}`);
      total = r.search.totalCount;
    }
    all.push(...ms);
    perQuery.push(`${label} "${q}": ${total} matches, p50 ${round(percentile(ms, 50), 1)} / p95 ${round(percentile(ms, 95), 1)} ms`);
  }
  for (const line of perQuery) log(`search: ${line}`);
  // The statement alone (the repository on the app's own connection pool): what the database
  // costs, apart from HTTP, GraphQL, the token check and the tRPC hop.
  const repo = new SearchRepository(t.app.runtime.orm);
  const sqlMs: number[] = [];
  for (const [, q, filter] of MIX) {
    for (let i = 0; i < 30; i++) {
      const started = performance.now();
      await repo.search(owner.userId, searchKey(q), filter ?? {}, { first: 50 });
      sqlMs.push(performance.now() - started);
    }
  }
  log(`search: the statement alone p50 ${round(percentile(sqlMs, 50), 1)} / p95 ${round(percentile(sqlMs, 95), 1)} ms`);
  const p95 = round(percentile(all, 95), 1);
  return [
    {
      id: 'search.p50', label: `search over ${files} items of one person (MariaDB), ${MIX.length} queries, p50`, value: round(percentile(all, 50), 1), unit: 'ms',
      note: perQuery.join('; '), samples: all.map((v) => round(v, 2)),
    },
    { id: 'search.p95', label: `search over ${files} items, p95`, value: p95, unit: 'ms', target: '< 50 ms', met: p95 < 50 },
    {
      id: 'search.sql.p95', label: 'its SQL statement alone, p95', value: round(percentile(sqlMs, 95), 1), unit: 'ms',
      note: `p50 ${round(percentile(sqlMs, 50), 1)} ms (the same mix, without HTTP, GraphQL and tRPC)`, samples: sqlMs.map((v) => round(v, 2)),
    },
    {
      id: 'search.statements', label: 'SQL statements per search request', value: percentile(statements, 50), unit: 'statements',
      note: `seen: ${[...new Set(statements)].sort().join(', ')} over ${statements.length} requests (0 to ${files} matches; background jobs of the same app count too)`,
    },
  ];
}
