/**
 * WebDAV dead properties through a tRPC caller on both stacks (MariaDB, SQLite): a batch read of
 * many files, all-or-nothing patches with the bounds, strangers, copies of a tree, purge; and a
 * file's content replaced in place (same id; the old content kept as a version, still charged).
 */
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../test/support/runtime.ts';
import { newBlobKey } from './blobs.writer.ts';
import { MAX_PROPERTIES_PER_FILE, MAX_PROPERTY_VALUE_BYTES } from './file-properties.service.ts';
import { createFiles } from './index.ts';

const log = createLogger({ level: 'silent' });
const NS = 'urn:example:p';

describe.each(STACKS)('file properties on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const viewer = (): Viewer => ({ userId: randomUUID(), username: 'u', isAdmin: false });
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });
  const reason = (promise: Promise<unknown>) =>
    promise.then(() => 'no error', (e: { cause?: { code?: string; details?: { reason?: string } } }) => `${e.cause?.code}:${e.cause?.details?.reason ?? ''}`);

  beforeAll(async () => {
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: '100000' });
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  async function commit(v: Viewer, parentId: string | null, name: string, content: string, replaces?: string) {
    const { name: backend, store } = t.runtime.storage.defaultBackend();
    const storageKey = newBlobKey();
    await store.put(storageKey, Readable.from([Buffer.from(content)]), Buffer.byteLength(content));
    const contentHash = (content.length.toString(16) + 'c'.repeat(64)).slice(0, 64);
    return as(v).commitFile({ parentId, name, size: Buffer.byteLength(content), contentHash, mimeType: null, backend, storageKey, ...(replaces ? { replaces } : {}) });
  }

  it('sets, reads in one batch, removes; a stranger reads nothing and patches NOT_FOUND', async () => {
    const me = viewer();
    const a = (await commit(me, null, 'a.txt', 'aaa')).file;
    const b = (await commit(me, null, 'b.txt', 'bbbb')).file;
    await as(me).properties.patch({ fileId: a.id, changes: [{ op: 'set', namespace: NS, name: 'color', value: 'blue' }, { op: 'set', namespace: '', name: 'bare', value: '1' }] });
    await as(me).properties.patch({ fileId: b.id, changes: [{ op: 'set', namespace: NS, name: 'color', value: 'red' }, { op: 'remove', namespace: NS, name: 'color' }] });
    const read = await as(me).properties.forFiles({ ids: [a.id, b.id] });
    expect(read[a.id]).toEqual([{ namespace: '', name: 'bare', value: '1' }, { namespace: NS, name: 'color', value: 'blue' }]);
    expect(read[b.id]).toBeUndefined();
    expect(await as(viewer()).properties.forFiles({ ids: [a.id] })).toEqual({});
    expect(await reason(as(viewer()).properties.patch({ fileId: a.id, changes: [{ op: 'remove', namespace: NS, name: 'color' }] }))).toBe('NOT_FOUND:');
  });

  it('concurrent patches of the same property of one file all succeed, one after the other (no deadlock)', async () => {
    const me = viewer();
    const f = (await commit(me, null, 'race.txt', 'r')).file;
    // Each patch deletes then inserts the row: unserialized, two such transactions on MariaDB took
    // gap locks on the missing row and then waited on each other's insert (a deadlock).
    const values = Array.from({ length: 8 }, (_, i) => `v${i}`);
    const results = await Promise.all(values.map((value) => reason(as(me).properties.patch({ fileId: f.id, changes: [{ op: 'set', namespace: NS, name: 'color', value }, { op: 'set', namespace: NS, name: 'shade', value }] }))));
    expect(results).toEqual(values.map(() => 'no error'));
    const read = (await as(me).properties.forFiles({ ids: [f.id] }))[f.id] ?? [];
    expect(read).toHaveLength(2);
    // Both properties from the same patch: the patches did not interleave.
    expect(read[0]?.value).toBe(read[1]?.value);
  });

  it('refuses DAV: properties, oversized values and too many properties, changing nothing', async () => {
    const me = viewer();
    const f = (await commit(me, null, 'c.txt', 'c')).file;
    const patch = (changes: Parameters<ReturnType<typeof as>['properties']['patch']>[0]['changes']) => reason(as(me).properties.patch({ fileId: f.id, changes }));
    expect(await patch([{ op: 'set', namespace: 'DAV:', name: 'getetag', value: 'x' }])).toBe('FORBIDDEN:property_protected');
    expect(await patch([{ op: 'set', namespace: NS, name: 'big', value: 'é'.repeat(MAX_PROPERTY_VALUE_BYTES / 2 + 1) }])).toBe('PAYLOAD_TOO_LARGE:property_too_large');
    const many = Array.from({ length: MAX_PROPERTIES_PER_FILE + 1 }, (_, i) => ({ op: 'set' as const, namespace: NS, name: `p${i}`, value: 'v' }));
    expect(await patch(many)).toBe('BAD_INPUT:too_many_properties');
    expect(await as(me).properties.forFiles({ ids: [f.id] })).toEqual({});
  });

  it('a copied tree gets its originals\' properties; a purge deletes them', async () => {
    const me = viewer();
    const dir = await as(me).createFolder({ parentId: null, name: 'dir' });
    const inner = (await commit(me, dir.id, 'inner.txt', 'i')).file;
    await as(me).properties.patch({ fileId: dir.id, changes: [{ op: 'set', namespace: NS, name: 'top', value: 't' }] });
    await as(me).properties.patch({ fileId: inner.id, changes: [{ op: 'set', namespace: NS, name: 'deep', value: 'd' }] });
    const copy = await as(me).paths.copyTo({ id: dir.id, parentId: me.userId, name: 'dir copy', shallow: false });
    await as(me).properties.copySubtree({ fromId: dir.id, toId: copy.id });
    const copiedInner = (await as(me).children({ folderId: copy.id })).edges[0]?.node.id ?? '';
    const read = await as(me).properties.forFiles({ ids: [copy.id, copiedInner] });
    expect(read[copy.id]?.map((p) => p.name)).toEqual(['top']);
    expect(read[copiedInner]?.map((p) => p.name)).toEqual(['deep']);
    await as(me).trash({ id: dir.id });
    await as(me).purge({ id: dir.id });
    const rows = await t.runtime.orm.em.fork().getConnection().execute('select count(*) as n from file_properties where file_id in (?, ?)', [dir.id, inner.id]);
    expect(Number((rows as { n: number }[])[0]?.n)).toBe(0);
  });

  it('replaces a file\'s content in place: same id, the old content kept as a version (issue 22) and still charged', async () => {
    const me = viewer();
    const first = (await commit(me, null, 'r.txt', 'short')).file;
    const used = (await as(me).quota()).used;
    const second = await commit(me, null, 'r.txt', 'a longer content', first.id);
    expect(second.file.id).toBe(first.id);
    expect(second.file.size).toBe(16);
    expect((await as(me).quota()).used).toBe(used + 16);
    expect(second.freed?.length).toBe(0);
    expect((await as(me).versions.listMany({ fileIds: [first.id] }))[0]?.map((v) => v.size)).toEqual([5]);
  });
});
