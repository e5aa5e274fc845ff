/**
 * Files and folders through a tRPC caller on both stacks (MariaDB + Redis, SQLite + memory):
 * names, uniqueness, moves without cycles, trash/restore/purge, strangers' ids, paging, quota,
 * and content-addressed blobs whose bytes go only with their last file.
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { BlobRow, FileRow } from './files.entities.ts';
import { createFiles } from './index.ts';
import { newBlobKey } from './blobs.writer.ts';

const log = createLogger({ level: 'silent' });
const HASH_A = 'a'.repeat(64);

describe.each(STACKS)('files on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const viewer = (): Viewer => ({ userId: randomUUID(), username: 'u', isAdmin: false });
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });

  beforeAll(async () => {
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: '1000' });
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  async function code(promise: Promise<unknown>): Promise<string | undefined> {
    const error = await promise.then(() => undefined, (e: { cause?: { code?: string; details?: { reason?: string } } }) => e);
    return error?.cause ? `${error.cause.code}${error.cause.details?.reason ? `:${error.cause.details.reason}` : ''}` : 'no error';
  }

  async function storeBytes(content: string) {
    const { name, store } = t.runtime.storage.defaultBackend();
    const key = newBlobKey();
    await store.put(key, Readable.from([Buffer.from(content)]), Buffer.byteLength(content));
    return { backend: name, storageKey: key, size: Buffer.byteLength(content) };
  }

  it('creates folders, refuses bad names, keeps names unique per folder regardless of case', async () => {
    const me = as(viewer());
    const docs = await me.createFolder({ parentId: null, name: 'Docs' });
    expect(docs).toMatchObject({ name: 'Docs', isFolder: true, size: 0 });
    expect(await code(me.createFolder({ parentId: null, name: 'docs' }))).toBe('CONFLICT:name_taken');
    await me.createFolder({ parentId: docs.id, name: 'docs' });
    const cases: [string, string][] = [
      ['a/b', 'name_invalid_character'], ['a\0b', 'name_invalid_character'], ['a\\b', 'name_invalid_character'],
      ['..', 'name_only_dots'], ['.', 'name_only_dots'], [' . ', 'name_only_dots'], ['   ', 'name_only_dots'],
      ['é'.repeat(128), 'name_too_long'], ['', 'name_empty'], [' lead', 'name_whitespace'],
    ];
    for (const [name, reason] of cases) expect(await code(me.createFolder({ parentId: null, name })), name).toBe(`BAD_INPUT:${reason}`);
    // 255 bytes of UTF-8 is the limit, not 255 characters.
    await me.createFolder({ parentId: null, name: 'é'.repeat(127) + 'x' });
    // Accents are significant: "é" and "e" may sit side by side.
    await me.createFolder({ parentId: null, name: 'cafe' });
    await me.createFolder({ parentId: null, name: 'café' });
  });

  it('renames and moves; a folder cannot move into itself or below itself', async () => {
    const me = as(viewer());
    const a = await me.createFolder({ parentId: null, name: 'a' });
    const b = await me.createFolder({ parentId: a.id, name: 'b' });
    const c = await me.createFolder({ parentId: b.id, name: 'c' });
    expect(await code(me.move({ id: a.id, parentId: a.id }))).toBe('BAD_INPUT:move_cycle');
    expect(await code(me.move({ id: a.id, parentId: c.id }))).toBe('BAD_INPUT:move_cycle');
    const moved = await me.move({ id: b.id, parentId: null });
    expect(moved.parentId).toBe(a.parentId);
    // The subtree moved with it: c is now reachable from b at the top, and a is empty.
    expect((await me.ancestors({ id: c.id })).map((f) => f.name)).toEqual(['', 'b']);
    expect((await me.children({ folderId: a.id })).totalCount).toBe(0);
    // Now a can go into c (no longer below a).
    await me.move({ id: a.id, parentId: c.id });
    expect((await me.ancestors({ id: a.id })).map((f) => f.name)).toEqual(['', 'b', 'c']);
    await me.createFolder({ parentId: null, name: 'taken' });
    expect(await code(me.rename({ id: b.id, name: 'TAKEN' }))).toBe('CONFLICT:name_taken');
    expect((await me.rename({ id: b.id, name: 'B2' })).name).toBe('B2');
  });

  it("answers NOT_FOUND for another person's ids, never FORBIDDEN", async () => {
    const alice = as(viewer());
    const bob = as(viewer());
    const secret = await alice.createFolder({ parentId: null, name: 'secret' });
    await alice.createFolder({ parentId: secret.id, name: 'inside' });
    // Thunks, called one at a time: a rejected promise must never wait unobserved for its turn.
    for (const attempt of [
      () => bob.get({ id: secret.id }),
      () => bob.children({ folderId: secret.id }),
      () => bob.rename({ id: secret.id, name: 'x' }),
      () => bob.move({ id: secret.id, parentId: null }),
      () => bob.trash({ id: secret.id }),
      () => bob.createFolder({ parentId: secret.id, name: 'x' }),
      () => bob.content({ id: secret.id }),
    ]) {
      expect(await code(attempt())).toBe('NOT_FOUND');
    }
    const bobsFolder = await bob.createFolder({ parentId: null, name: 'mine' });
    expect(await code(alice.move({ id: secret.id, parentId: bobsFolder.id }))).toBe('NOT_FOUND');
    expect(await bob.getMany({ ids: [secret.id, bobsFolder.id] })).toEqual([null, expect.objectContaining({ id: bobsFolder.id })]);
  });

  it('trash hides a subtree; restore brings back exactly it, renamed on a clash; purge is final', async () => {
    const me = as(viewer());
    const f = await me.createFolder({ parentId: null, name: 'f' });
    const inner = await me.createFolder({ parentId: f.id, name: 'inner' });
    const loose = await me.createFolder({ parentId: f.id, name: 'loose' });
    await me.trash({ id: loose.id });
    await me.trash({ id: f.id });
    expect(await code(me.get({ id: inner.id }))).toBe('NOT_FOUND');
    // A trashed folder cannot be listed, though it still holds (trashed) rows.
    expect(await code(me.children({ folderId: f.id }))).toBe('NOT_FOUND');
    expect((await me.listTrash()).map((x) => x.name).sort()).toEqual(['f', 'loose']);
    await me.createFolder({ parentId: null, name: 'f' });
    const restored = await me.restore({ id: f.id });
    expect(restored.name).toBe('f (1)');
    expect((await me.get({ id: inner.id })).name).toBe('inner');
    // loose was deleted on its own before: it stays in the trash.
    expect((await me.listTrash()).map((x) => x.name)).toEqual(['loose']);
    expect(await code(me.restore({ id: inner.id }))).toBe('NOT_FOUND');
    expect(await me.purge({ id: loose.id })).toBe(true);
    expect(await me.listTrash()).toEqual([]);
    expect(await code(me.restore({ id: loose.id }))).toBe('NOT_FOUND');
  });

  it('pages children with cursors in every order, folders first', async () => {
    const me = as(viewer());
    const dir = await me.createFolder({ parentId: null, name: 'paging' });
    for (const name of ['d', 'B', 'a']) await me.createFolder({ parentId: dir.id, name });
    for (const [i, name] of ['z.txt', 'c.txt', 'y.txt', 'x.txt'].entries()) {
      const bytes = await storeBytes('x'.repeat(i + 1));
      await me.commitFile({ parentId: dir.id, name, contentHash: `${i}`.repeat(64), mimeType: 'text/plain', ...bytes });
    }
    const walk = async (orderBy: { field: 'NAME' | 'SIZE' | 'CREATED_AT' | 'UPDATED_AT'; direction: 'ASC' | 'DESC' }) => {
      const names: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await me.children({ folderId: dir.id, first: 2, after, orderBy });
        expect(page.totalCount).toBe(7);
        names.push(...page.edges.map((e) => e.node.name));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor ?? undefined;
      }
      return names;
    };
    expect(await walk({ field: 'NAME', direction: 'ASC' })).toEqual(['a', 'B', 'd', 'c.txt', 'x.txt', 'y.txt', 'z.txt']);
    expect(await walk({ field: 'NAME', direction: 'DESC' })).toEqual(['d', 'B', 'a', 'z.txt', 'y.txt', 'x.txt', 'c.txt']);
    expect((await walk({ field: 'SIZE', direction: 'DESC' })).slice(3)).toEqual(['x.txt', 'y.txt', 'c.txt', 'z.txt']);
    expect((await walk({ field: 'CREATED_AT', direction: 'ASC' })).slice(3)).toEqual(['z.txt', 'c.txt', 'y.txt', 'x.txt']);
    expect(await code(me.children({ folderId: dir.id, after: 'garbage' }))).toBe('BAD_INPUT:invalid_cursor');
    expect(await code(me.children({ folderId: dir.id, first: 501 }))).toBe('BAD_INPUT');
  });

  it('shares one blob between files of the same content; its bytes go with the last file', async () => {
    const alice = as(viewer());
    const bob = as(viewer());
    const first = await storeBytes('same bytes');
    const a = await alice.commitFile({ parentId: null, name: 'a.txt', contentHash: HASH_A, mimeType: null, ...first });
    expect(a.duplicate).toBeNull();
    const second = await storeBytes('same bytes');
    const b = await bob.commitFile({ parentId: null, name: 'b.txt', contentHash: HASH_A, mimeType: null, ...second });
    // The second copy is redundant: the caller is told to drop it.
    expect(b.duplicate).toEqual({ backend: second.backend, storageKey: second.storageKey });
    const em = t.runtime.orm.em.fork();
    const blobs = await em.find(BlobRow, { contentHash: HASH_A });
    expect(blobs).toHaveLength(1);
    expect(blobs[0]).toMatchObject({ refCount: 2, backend: first.backend, storageKey: first.storageKey });
    const store = t.runtime.storage.store(first.backend);

    await alice.trash({ id: a.file.id });
    await alice.purge({ id: a.file.id });
    expect(await store.head(first.storageKey)).not.toBeNull();
    expect((await em.fork().findOneOrFail(BlobRow, { contentHash: HASH_A })).refCount).toBe(1);

    await bob.trash({ id: b.file.id });
    await bob.purge({ id: b.file.id });
    expect(await store.head(first.storageKey)).toBeNull();
    expect(await em.fork().count(BlobRow, { contentHash: HASH_A })).toBe(0);
    expect(await em.fork().count(FileRow, { id: { $in: [a.file.id, b.file.id] } })).toBe(0);
  });

  it('records one blob when people commit the same new content at the same moment (no unique-key failure)', async () => {
    const hash = randomUUID().replaceAll('-', '').repeat(2);
    const people = Array.from({ length: 6 }, () => as(viewer()));
    const stored = await Promise.all(people.map(() => storeBytes('raced bytes')));
    const results = await Promise.all(people.map((p, i) => p.commitFile({ parentId: null, name: `race-${i}.txt`, contentHash: hash, mimeType: null, ...stored[i]! })));
    const blobs = await t.runtime.orm.em.fork().find(BlobRow, { contentHash: hash });
    expect(blobs).toHaveLength(1);
    expect(blobs[0]?.refCount).toBe(people.length);
    // Exactly one commit kept its own bytes; every other one is told its copy is a duplicate.
    const kept = results.filter((r) => r.duplicate === null);
    expect(kept).toHaveLength(1);
    expect(results.every((r) => r.file.size === Buffer.byteLength('raced bytes'))).toBe(true);
  });

  it('charges and releases the quota; a file over it is refused and nothing is recorded', async () => {
    const v = viewer();
    const me = as(v);
    expect(await me.quota()).toEqual({ used: 0, limit: 1000 });
    const bytes = await storeBytes('x'.repeat(600));
    const { file } = await me.commitFile({ parentId: null, name: 'big', contentHash: 'b'.repeat(64), mimeType: null, ...bytes });
    expect((await me.quota()).used).toBe(600);
    expect(await code(me.assertFits({ size: 401 }))).toBe('QUOTA_EXCEEDED');
    const more = await storeBytes('y'.repeat(500));
    expect(await code(me.commitFile({ parentId: null, name: 'more', contentHash: 'c'.repeat(64), mimeType: null, ...more }))).toBe('QUOTA_EXCEEDED');
    const em = t.runtime.orm.em.fork();
    expect(await em.count(FileRow, { ownerId: v.userId, name: 'more' })).toBe(0);
    expect(await em.count(BlobRow, { contentHash: 'c'.repeat(64) })).toBe(0);
    // Trash still counts; purge frees.
    await me.trash({ id: file.id });
    expect((await me.quota()).used).toBe(600);
    await me.purge({ id: file.id });
    expect((await me.quota()).used).toBe(0);
  });

  it('a commit into a name that is taken fails whole: no row, no charge, no blob reference', async () => {
    const v = viewer();
    const me = as(v);
    const one = await storeBytes('one');
    await me.commitFile({ parentId: null, name: 'same.txt', contentHash: 'd'.repeat(64), mimeType: null, ...one });
    const two = await storeBytes('two!');
    expect(await code(me.commitFile({ parentId: null, name: 'SAME.txt', contentHash: 'e'.repeat(64), mimeType: null, ...two }))).toBe('CONFLICT:name_taken');
    expect((await me.quota()).used).toBe(3);
    expect(await t.runtime.orm.em.fork().count(BlobRow, { contentHash: 'e'.repeat(64) })).toBe(0);
  });

  it('uploadTarget answers the pre-checks in one call; a commit carrying its parentPath lands right even when the folder moved, and refuses a trashed or foreign folder whole', async () => {
    const owner = viewer();
    const me = as(owner);
    const a = await me.createFolder({ parentId: null, name: 'A' });
    const b = await me.createFolder({ parentId: null, name: 'B' });
    const em = () => t.runtime.orm.em.fork();
    const taken = await me.commitFile({ parentId: a.id, name: 'taken.txt', contentHash: 'f'.repeat(64), mimeType: null, ...(await storeBytes('t')) });
    expect(await code(me.uploadTarget({ parentId: a.id, name: 'TAKEN.txt' }))).toBe('CONFLICT:name_taken');
    expect(await code(me.uploadTarget({ parentId: taken.file.id, name: 'x' }))).toBe('BAD_INPUT:not_a_folder');
    const target = await me.uploadTarget({ parentId: a.id, name: ' f.txt'.trim() });
    expect(target).toEqual({ parentId: a.id, name: 'f.txt', parentPath: (await em().findOneOrFail(FileRow, { id: a.id })).path, used: 1, limit: 1000 });
    const commit = async (v: Viewer, name: string, content: string) =>
      as(v).commitFile({ parentId: target.parentId, parentPath: target.parentPath, name, contentHash: randomUUID().replace(/-/g, '').repeat(2), mimeType: null, ...(await storeBytes(content)) });

    // As read: the file is under the folder's path, charged once.
    const here = await commit(owner, target.name, 'abc');
    expect((await em().findOneOrFail(FileRow, { id: here.file.id })).path).toBe(`${target.parentPath}${here.file.id}/`);
    expect((await me.quota()).used).toBe(4);
    // A name taken meanwhile and a quota that no longer fits are still refused by the transaction.
    expect(await code(commit(owner, target.name, 'again'))).toBe('CONFLICT:name_taken');
    expect(await code(commit(owner, 'big.bin', 'x'.repeat(997)))).toBe('QUOTA_EXCEEDED');
    expect((await me.quota()).used).toBe(4);
    // Moved since it was read: the commit reads the folder again and the path follows it.
    await me.move({ id: a.id, parentId: b.id });
    const moved = await commit(owner, 'moved.txt', 'de');
    const movedA = await em().findOneOrFail(FileRow, { id: a.id });
    expect(movedA.path).not.toBe(target.parentPath);
    expect((await em().findOneOrFail(FileRow, { id: moved.file.id })).path).toBe(`${movedA.path}${moved.file.id}/`);
    expect((await me.quota()).used).toBe(6);
    // Another person with the folder's id and path gets NOT_FOUND, nothing charged or recorded.
    const stranger = viewer();
    expect(await code(commit(stranger, 'x.txt', 'xyz'))).toBe('NOT_FOUND');
    expect((await as(stranger).quota()).used).toBe(0);
    // Trashed since: NOT_FOUND, no row, no charge.
    await me.trash({ id: b.id });
    expect(await code(commit(owner, 'late.txt', 'late'))).toBe('NOT_FOUND');
    expect((await me.quota()).used).toBe(6);
    expect(await em().count(FileRow, { ownerId: { $in: [owner.userId, stranger.userId] }, name: { $in: ['late.txt', 'x.txt', 'big.bin'] } })).toBe(0);
  });
});
