/**
 * Search through the files tRPC router on both stacks (MariaDB + Redis with the covering index,
 * SQLite + memory with FTS5 trigrams): the matching and ranking rules as a table, the key kept
 * wherever a name is written, live items only, filters, keyset paging, bad input with stable
 * reasons, strangers, and one SQL statement per search whatever the number of matches.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/logger.ts';
import type { Viewer } from '../../platform/request-context.ts';
import { createCallerFactory } from '../../platform/rpc/trpc.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../../test/support/runtime.ts';
import { newBlobKey } from '../blobs.writer.ts';
import { createFiles } from '../index.ts';
import { candidateGrams, gramEstimateStatement, rarestGram, trigrams } from './search.grams.ts';

const log = createLogger({ level: 'silent' });

describe.each(STACKS)('search on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const statements: string[] = [];
  const viewer = (): Viewer => ({ userId: randomUUID(), username: 'u', isAdmin: false });
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });
  let meViewer: Viewer;
  let me: ReturnType<typeof as>;

  /**
   * MariaDB only: the trigram table (kept by triggers, migration *_search_grams) holds exactly
   * the trigrams of the person's live keys, padded with a space at both ends, with the columns
   * beside them equal to the file's: whatever wrote the rows, nothing is missing, stale or extra.
   */
  async function expectGramsAgree(ownerId: string): Promise<void> {
    if (stack !== 'real') return;
    const conn = t.runtime.orm.em.getConnection();
    const rows = (await conn.execute("select id, search_key, updated_at, is_folder, size, mime_type from files where owner_id = ? and trash_key = '' and search_key <> ''", [ownerId], 'all')) as Record<string, unknown>[];
    const line = (r: Record<string, unknown>, gram: unknown, id: unknown) =>
      JSON.stringify([gram, id, r.search_key, new Date(r.updated_at as string).getTime(), Number(r.is_folder), Number(r.size), r.mime_type ?? null]);
    const expected = rows.flatMap((r) => trigrams(` ${String(r.search_key)} `).map((g) => line(r, g, r.id))).sort();
    const actual = ((await conn.execute('select * from search_grams where owner_id = ?', [ownerId], 'all')) as Record<string, unknown>[]).map((r) => line(r, r.gram, r.file_id)).sort();
    expect(actual).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  }

  beforeAll(async () => {
    t = await createTestRuntime(stack, {}, { onQuery: (sql) => statements.push(sql) });
    files = createFiles(t.runtime);
    meViewer = viewer();
    me = as(meViewer);
  });
  afterAll(() => t?.close());

  async function code(promise: Promise<unknown>): Promise<string | undefined> {
    const error = await promise.then(() => undefined, (e: { cause?: { code?: string; details?: { reason?: string } } }) => e);
    return error?.cause ? `${error.cause.code}${error.cause.details?.reason ? `:${error.cause.details.reason}` : ''}` : 'no error';
  }

  async function upload(caller: ReturnType<typeof as>, parentId: string | null, name: string, content: string, mimeType: string | null) {
    const { name: backend, store } = t.runtime.storage.defaultBackend();
    const key = newBlobKey();
    const size = Buffer.byteLength(content);
    await store.put(key, Readable.from([Buffer.from(content)]), size);
    const hash = randomUUID().replace(/-/g, '').padEnd(64, '0');
    return caller.commitFile({ parentId, name, contentHash: hash, mimeType, backend, storageKey: key, size });
  }

  const names = async (caller: ReturnType<typeof as>, query: string, extra: Record<string, unknown> = {}) =>
    (await caller.search({ query, first: 100, ...extra })).edges.map((e) => e.node.name);

  it('matches regardless of case and accents, by word prefix and substring, best matches first', async () => {
    const dir = await me.createFolder({ parentId: null, name: 'Rules' });
    // Created oldest first: within one rank the newest change comes first.
    for (const name of ['my resume draft.txt', 'Résumé', 'RESUMES 2024.pdf', 'unresumed.log', 'Straße.md', 'q3_report-final.pdf', 'Report.PDF', 'export.csv']) {
      await me.createFolder({ parentId: dir.id, name });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const table: [string, string[]][] = [
      // exact key (0), then word prefixes (1) newest first, then inside a word (2)
      ['résumé', ['Résumé', 'RESUMES 2024.pdf', 'my resume draft.txt', 'unresumed.log']],
      ['RESUME', ['Résumé', 'RESUMES 2024.pdf', 'my resume draft.txt', 'unresumed.log']],
      ['Resumes', ['RESUMES 2024.pdf']],
      ['strasse', ['Straße.md']],
      ['STRAẞE', ['Straße.md']],
      ['report', ['Report.PDF', 'q3_report-final.pdf']],
      ['port', ['export.csv', 'Report.PDF', 'q3_report-final.pdf']],
      ['report final', ['q3_report-final.pdf']],
      ['report.final', ['q3_report-final.pdf']],
      ['pdf', ['Report.PDF', 'q3_report-final.pdf', 'RESUMES 2024.pdf']],
      ['rules', ['Rules']],
      ['nothing like it', []],
    ];
    for (const [query, expected] of table) expect(await names(me, query), query).toEqual(expected);
  });

  it('keeps the key wherever a name is written: create, upload, rename, copy; live items only', async () => {
    const dir = await me.createFolder({ parentId: null, name: 'Keys' });
    const up = await upload(me, dir.id, 'Zébra upload.txt', 'hello', 'text/plain');
    expect(await names(me, 'zebra')).toEqual(['Zébra upload.txt']);
    await me.rename({ id: up.file.id, name: 'Ocelot.txt' });
    expect(await names(me, 'zebra')).toEqual([]);
    expect(await names(me, 'ocelot')).toEqual(['Ocelot.txt']);
    await me.trash({ id: up.file.id });
    expect(await names(me, 'ocelot')).toEqual([]);
    await me.restore({ id: up.file.id });
    expect(await names(me, 'ocelot')).toEqual(['Ocelot.txt']);
    // A trashed folder takes what is inside out of the results.
    await me.trash({ id: dir.id });
    expect(await names(me, 'ocelot')).toEqual([]);
    await me.restore({ id: dir.id });
    // A copy (saving a share into one's drive) writes its rows with their keys.
    const share = await me.shares.create({ fileId: dir.id });
    const otherViewer = viewer();
    const other = as(otherViewer);
    await other.shares.save({ token: share.token, targetFolderId: (await other.node({ id: null })).id });
    expect(await names(other, 'ocelot')).toEqual(['Ocelot.txt']);
    expect(await names(other, 'keys')).toEqual(['Keys']);
    // A move that names the item (WebDAV MOVE) and a copy under a new name (WebDAV COPY).
    const target = await other.createFolder({ parentId: null, name: 'Target' });
    const ocelot = (await other.search({ query: 'ocelot', first: 1 })).edges[0]?.node.id ?? '';
    await other.paths.moveTo({ id: ocelot, parentId: target.id, name: 'Lynx.txt' });
    expect(await names(other, 'ocelot')).toEqual([]);
    expect(await names(other, 'lynx')).toEqual(['Lynx.txt']);
    await other.paths.copyTo({ id: ocelot, parentId: target.id, name: 'Caracal.txt', shallow: false });
    expect(await names(other, 'caracal')).toEqual(['Caracal.txt']);
    await expectGramsAgree(meViewer.userId);
    await expectGramsAgree(otherViewer.userId);
    // Trash and purge, a new content (size and change time move), a folder trashed with its items.
    const caracal = (await other.search({ query: 'caracal', first: 1 })).edges[0]?.node.id ?? '';
    await other.trash({ id: caracal });
    await other.purge({ id: caracal });
    await other.trash({ id: target.id });
    await expectGramsAgree(otherViewer.userId);
    await other.restore({ id: target.id });
    await upload(me, dir.id, 'Zébra upload.txt', 'a longer content', 'text/markdown');
    await expectGramsAgree(meViewer.userId);
    await expectGramsAgree(otherViewer.userId);
  });

  it('ranks and pages one- and two-letter queries like longer ones, across the ranks', async () => {
    const v = as(viewer());
    const dir = await v.createFolder({ parentId: null, name: 'short' });
    for (const name of ['ab', 'xab', 'ab cd', 'cdab', 'zz ab', 'q']) {
      await v.createFolder({ parentId: dir.id, name });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const table: [string, string[]][] = [
      ['ab', ['ab', 'zz ab', 'ab cd', 'cdab', 'xab']],
      ['a', ['zz ab', 'ab cd', 'ab', 'cdab', 'xab']],
      ['q', ['q']],
      ['b', ['zz ab', 'cdab', 'ab cd', 'xab', 'ab']],
      ['zq', []],
    ];
    for (const [query, expected] of table) {
      expect(await names(v, query), query).toEqual(expected);
      // One at a time by cursor: the same order, across the rank boundaries, with the same count.
      const paged: string[] = [];
      let after: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await v.search({ query, first: 1, after });
        expect(page.totalCount, query).toBe(expected.length);
        paged.push(...page.edges.map((e) => e.node.name));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor ?? undefined;
      }
      expect(paged, `${query} paged`).toEqual(expected);
    }
    expect(await names(v, 'a', { filter: { modifiedAfter: new Date(Date.now() - 60_000), foldersOnly: true } })).toEqual(['zz ab', 'ab cd', 'ab', 'cdab', 'xab']);
    expect(await names(v, 'a', { filter: { foldersOnly: false, minSize: 1 } })).toEqual([]);
  });

  it('filters by MIME type prefix, change time, size and folders', async () => {
    const v = as(viewer());
    const photos = await v.createFolder({ parentId: null, name: 'holiday photos' });
    await upload(v, photos.id, 'holiday 1.jpg', 'x'.repeat(10), 'image/jpeg');
    await upload(v, photos.id, 'holiday 2.png', 'x'.repeat(100), 'image/png');
    await upload(v, null, 'holiday plan.pdf', 'x'.repeat(1000), 'application/pdf');
    await upload(v, null, 'holiday_%.txt', 'x', 'text/plain');
    expect(await names(v, 'holiday', { filter: { mimeTypePrefix: 'image/' } })).toEqual(['holiday 2.png', 'holiday 1.jpg']);
    expect(await names(v, 'holiday', { filter: { mimeTypePrefix: 'image/%' } })).toEqual([]);
    expect(await names(v, 'holiday', { filter: { minSize: 50, maxSize: 500 } })).toEqual(['holiday 2.png']);
    expect(await names(v, 'holiday', { filter: { foldersOnly: true } })).toEqual(['holiday photos']);
    expect(await names(v, 'holiday', { filter: { modifiedAfter: new Date(Date.now() + 60_000) } })).toEqual([]);
    expect((await names(v, 'holiday', { filter: { modifiedAfter: new Date(Date.now() - 60_000) } })).length).toBe(5);
  });

  it('pages by cursor without gaps or repeats, counts all matches, and runs a fixed number of statements whatever the result size', async () => {
    const vViewer = viewer();
    const v = as(vViewer);
    const dir = await v.createFolder({ parentId: null, name: 'many' });
    for (let i = 0; i < 23; i++) await v.createFolder({ parentId: dir.id, name: `invoice ${String(i).padStart(2, '0')}` });
    const seen: string[] = [];
    let after: string | undefined;
    let last: string | undefined;
    for (;;) {
      const page = await v.search({ query: 'invoice', first: 5, after });
      expect(page.totalCount).toBe(23);
      seen.push(...page.edges.map((e) => e.node.id));
      last = page.pageInfo.endCursor ?? undefined;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor ?? undefined;
    }
    expect(seen).toHaveLength(23);
    expect(new Set(seen).size).toBe(23);
    // Past the last match the count still holds (the cursor carries it); first 0 counts too.
    const past = await v.search({ query: 'invoice', first: 5, after: last });
    expect(past).toMatchObject({ edges: [], totalCount: 23, pageInfo: { hasNextPage: false, endCursor: null } });
    expect(await v.search({ query: 'invoice', first: 0 })).toMatchObject({ edges: [], totalCount: 23, pageInfo: { hasNextPage: true } });
    // SQLite: one statement. MariaDB: one, plus one EXPLAIN that weighs the trigrams when the
    // query has more than one (search.grams.ts).
    for (const [query, first] of [['invoice', 50], ['invoice 07', 50], ['nomatch', 50], ['invoice', 0], ['in', 3], ['inv', 3]] as const) {
      statements.length = 0;
      await v.search({ query, first });
      expect(statements, `${query}/${first}`).toHaveLength(stack === 'real' && trigrams(query).length > 1 ? 2 : 1);
    }
    // The rarest trigram is the one read: " 07" occurs once, "inv" 23 times (the optimizer's
    // estimates, from the index, not the rows).
    if (stack === 'real') {
      const weighed = candidateGrams(trigrams('invoice 07'));
      const estimate = gramEstimateStatement(vViewer.userId, weighed);
      expect(rarestGram(weighed, (await t.runtime.orm.em.getConnection().execute(estimate.sql, estimate.params, 'all')) as Record<string, unknown>[])).toBe(' 07');
    }
  });

  it('refuses bad input with stable reasons and never scans for a wildcard', async () => {
    expect(await code(me.search({ query: 'x'.repeat(10_000), first: 10 }))).toBe('BAD_INPUT:search_query_too_long');
    expect(await code(me.search({ query: 'é'.repeat(256), first: 10 }))).toBe('BAD_INPUT:search_query_too_long');
    for (const query of ['', '   ', '%', '%%%', '_', '*', '%_*?', '\\%']) {
      statements.length = 0;
      expect(await code(me.search({ query, first: 10 })), query).toBe('BAD_INPUT:search_query_empty');
      expect(statements, query).toHaveLength(0);
    }
    expect(await code(me.search({ query: 'a', first: -1 }))).toBe('BAD_INPUT:page_size');
    expect(await code(me.search({ query: 'a', first: 501 }))).toBe('BAD_INPUT:page_size');
    expect((await me.search({ query: 'é'.repeat(255), first: 500 })).edges).toEqual([]);
  });

  it('takes a cursor only for the same person, query and filter', async () => {
    const page = await me.search({ query: 'resume', first: 1 });
    const cursor = page.pageInfo.endCursor ?? '';
    expect(cursor).not.toBe('');
    expect((await me.search({ query: 'RÉSUMÉ', first: 1, after: cursor })).edges).toHaveLength(1);
    expect(await code(me.search({ query: 'report', first: 1, after: cursor }))).toBe('BAD_INPUT:invalid_cursor');
    expect(await code(me.search({ query: 'resume', first: 1, after: cursor, filter: { foldersOnly: true } }))).toBe('BAD_INPUT:invalid_cursor');
    expect(await code(as(viewer()).search({ query: 'resume', first: 1, after: cursor }))).toBe('BAD_INPUT:invalid_cursor');
    expect(await code(me.search({ query: 'resume', first: 1, after: 'not a cursor' }))).toBe('BAD_INPUT:invalid_cursor');
  });

  it('finds nothing of another person and nothing for a fresh account', async () => {
    const stranger = as(viewer());
    expect(await stranger.search({ query: 'resume', first: 50 })).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 });
  });
});
