/**
 * Versions through tRPC callers of the files service on both stacks (MariaDB + Redis, SQLite +
 * memory), with VERSIONS_KEEP=2: a commit with newVersion keeps the old content as a version of the
 * same file; list, restore, delete; blob reference counts and the quota follow every step;
 * retention prunes in the same transaction; purge takes versions along; strangers, other files'
 * versions, folders and ids that are no version answer NOT_FOUND; a version over quota changes nothing.
 */
import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityEventRow } from '../../activity/activity.entities.ts';
import { createLogger } from '../../platform/logger.ts';
import type { Viewer } from '../../platform/request-context.ts';
import { createCallerFactory } from '../../platform/rpc/trpc.ts';
import { STACKS, createTestRuntime, type TestRuntime } from '../../../test/support/runtime.ts';
import { newBlobKey } from '../blobs.writer.ts';
import { BlobRow } from '../files.entities.ts';
import { createFiles } from '../index.ts';
import { FileVersionRow } from './versions.entities.ts';

const log = createLogger({ level: 'silent' });

describe.each(STACKS)('file versions on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });
  const person = async () => {
    const v: Viewer = { userId: randomUUID(), username: 'u', isAdmin: false };
    await as(v).provisionDrive();
    return as(v);
  };

  beforeAll(async () => {
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: '1000', VERSIONS_KEEP: '2' });
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  async function code(promise: Promise<unknown>): Promise<string> {
    const error = await promise.then(() => undefined, (e: { cause?: { code?: string; details?: { reason?: string } } }) => e);
    return error?.cause ? `${error.cause.code}${error.cause.details?.reason ? `:${error.cause.details.reason}` : ''}` : 'no error';
  }

  /** Stores `content` as a new object and commits it (the hash only needs to be unique per content here). */
  async function commit(me: Awaited<ReturnType<typeof person>>, name: string, content: string, opts: { newVersion?: boolean; parentId?: string | null } = {}) {
    const { name: backend, store } = t.runtime.storage.defaultBackend();
    const key = newBlobKey();
    await store.put(key, Readable.from([Buffer.from(content)]), Buffer.byteLength(content));
    const contentHash = createHash('sha256').update(content).digest('hex');
    return me.commitFile({ parentId: opts.parentId ?? null, name, size: Buffer.byteLength(content), contentHash, mimeType: 'text/plain', backend, storageKey: key, ...(opts.newVersion ? { newVersion: true } : {}) });
  }
  const refCount = async (contentHash: string) => (await t.runtime.orm.em.fork().findOne(BlobRow, { contentHash }, { refresh: true }))?.refCount ?? 0;
  const hashOf = (s: string) => createHash('sha256').update(s).digest('hex');

  it('a new version keeps the same file id; the old content is a version (newest first), sharing its blob and counted in the quota', async () => {
    const me = await person();
    const v1 = await commit(me, 'a.txt', 'one');
    expect(await code(commit(me, 'a.txt', 'two!'))).toBe('CONFLICT:name_taken');
    const v2 = await commit(me, 'a.txt', 'two!', { newVersion: true });
    expect(v2.file).toMatchObject({ id: v1.file.id, size: 4, contentHash: hashOf('two!') });
    const v3 = await commit(me, 'a.txt', 'three', { newVersion: true });
    expect(v3.file.id).toBe(v1.file.id);
    const [list = []] = await me.versions.listMany({ fileIds: [v1.file.id] });
    expect(list.map((v) => v.size)).toEqual([4, 3]);
    expect(list.map((v) => v.contentHash)).toEqual([hashOf('two!'), hashOf('one')]);
    expect(await me.quota()).toMatchObject({ used: 3 + 4 + 5 });
    expect(await refCount(hashOf('one'))).toBe(1);
    // Each new version is the owner's activity, written in its commit.
    expect(await t.runtime.orm.em.fork().count(ActivityEventRow, { fileId: v1.file.id, action: 'VERSION_ADDED' })).toBe(2);
    // The same content in another file shares the version's blob (dedup applies).
    await commit(me, 'copy.txt', 'one');
    expect(await refCount(hashOf('one'))).toBe(2);
  });

  it('retention: VERSIONS_KEEP=2 prunes the oldest in the same commit, releasing its quota and its blob', async () => {
    const me = await person();
    const first = await commit(me, 'r.txt', 'r1');
    for (const c of ['r22', 'r333', 'r4444']) await commit(me, 'r.txt', c, { newVersion: true });
    const [list = []] = await me.versions.listMany({ fileIds: [first.file.id] });
    expect(list.map((v) => v.size)).toEqual([4, 3]);
    expect(await me.quota()).toMatchObject({ used: 5 + 4 + 3 });
    expect(await refCount(hashOf('r1'))).toBe(0);
  });

  it('concurrent new versions of one file all land: each becomes the next version, quota and refCounts add up', async () => {
    const me = await person();
    const f = await commit(me, 'race.txt', 'race-0');
    const bodies = ['race-1a', 'race-2bb', 'race-3ccc', 'race-4dddd'];
    const results = await Promise.all(bodies.map((b) => commit(me, 'race.txt', b, { newVersion: true })));
    expect(results.every((r) => r.file.id === f.file.id)).toBe(true);
    const current = await me.get({ id: f.file.id });
    const [list = []] = await me.versions.listMany({ fileIds: [f.file.id] });
    expect(list).toHaveLength(2);
    expect(await me.quota()).toMatchObject({ used: current.size + list.reduce((n, v) => n + v.size, 0) });
    for (const v of list) expect(await refCount(v.contentHash)).toBe(1);
  });

  it('restore makes the version current (same id, the current content a version); delete releases it', async () => {
    const me = await person();
    const f = await commit(me, 'doc.txt', 'old');
    await commit(me, 'doc.txt', 'newer', { newVersion: true });
    const [[old] = []] = await me.versions.listMany({ fileIds: [f.file.id] });
    if (!old) throw new Error('no version');
    const restored = await me.versions.restore({ fileId: f.file.id, versionId: old.id });
    expect(restored).toMatchObject({ id: f.file.id, size: 3, contentHash: hashOf('old') });
    expect(await t.runtime.orm.em.fork().count(ActivityEventRow, { fileId: f.file.id, action: 'VERSION_ADDED' })).toBe(2);
    const [after = []] = await me.versions.listMany({ fileIds: [f.file.id] });
    expect(after.map((v) => v.contentHash)).toEqual([hashOf('newer')]);
    expect(await me.quota()).toMatchObject({ used: 8 });
    const content = await me.versions.content({ fileId: f.file.id, versionId: after[0]?.id ?? '' });
    expect(content).toMatchObject({ file: { id: f.file.id, name: 'doc.txt' }, version: { size: 5 }, blob: { contentHash: hashOf('newer') } });
    expect(await me.versions.delete({ fileId: f.file.id, versionId: after[0]?.id ?? '' })).toBe(true);
    expect(await me.quota()).toMatchObject({ used: 3 });
    expect(await refCount(hashOf('newer'))).toBe(0);
    expect(await code(me.versions.delete({ fileId: f.file.id, versionId: after[0]?.id ?? '' }))).toBe('NOT_FOUND');
  });

  it('trash keeps versions, restore from trash brings them back, purge takes them along (quota and blobs)', async () => {
    const me = await person();
    const f = await commit(me, 't.txt', 'aaaa');
    await commit(me, 't.txt', 'bbbbbb', { newVersion: true });
    await me.trash({ id: f.file.id });
    expect(await code(me.versions.content({ fileId: f.file.id, versionId: randomUUID() }))).toBe('NOT_FOUND');
    await me.restore({ id: f.file.id });
    expect((await me.versions.listMany({ fileIds: [f.file.id] }))[0]).toHaveLength(1);
    await me.trash({ id: f.file.id });
    expect(await me.quota()).toMatchObject({ used: 10 });
    await me.purge({ id: f.file.id });
    expect(await me.quota()).toMatchObject({ used: 0 });
    expect(await refCount(hashOf('aaaa'))).toBe(0);
    expect(await t.runtime.orm.em.fork().count(FileVersionRow, { fileId: f.file.id })).toBe(0);
  });

  it('bad input: strangers, other files, folders, non-versions → NOT_FOUND; a folder of that name is still CONFLICT; over quota changes nothing', async () => {
    const me = await person();
    const stranger = await person();
    const f = await commit(me, 'x.txt', 'x1');
    const g = await commit(me, 'y.txt', 'y1');
    await commit(me, 'x.txt', 'x22', { newVersion: true });
    const [[version] = []] = await me.versions.listMany({ fileIds: [f.file.id] });
    if (!version) throw new Error('no version');
    expect(await code(stranger.versions.restore({ fileId: f.file.id, versionId: version.id }))).toBe('NOT_FOUND');
    expect(await code(stranger.versions.delete({ fileId: f.file.id, versionId: version.id }))).toBe('NOT_FOUND');
    expect(await code(stranger.versions.content({ fileId: f.file.id, versionId: version.id }))).toBe('NOT_FOUND');
    expect(await stranger.versions.listMany({ fileIds: [f.file.id] })).toEqual([[]]);
    expect(await code(me.versions.restore({ fileId: g.file.id, versionId: version.id }))).toBe('NOT_FOUND');
    expect(await code(me.versions.restore({ fileId: f.file.id, versionId: f.file.id }))).toBe('NOT_FOUND');
    const folder = await me.createFolder({ parentId: null, name: 'dir' });
    expect(await me.versions.listMany({ fileIds: [folder.id] })).toEqual([[]]);
    expect(await code(me.versions.restore({ fileId: folder.id, versionId: version.id }))).toBe('NOT_FOUND');
    expect(await code(commit(me, 'dir', 'zz', { newVersion: true }))).toBe('CONFLICT:name_taken');
    const before = await me.quota();
    expect(await code(commit(me, 'x.txt', 'q'.repeat(995), { newVersion: true }))).toBe('QUOTA_EXCEEDED');
    expect(await me.quota()).toEqual(before);
    expect((await me.versions.listMany({ fileIds: [f.file.id] }))[0]?.map((v) => v.id)).toEqual([version.id]);
    expect(await me.get({ id: f.file.id })).toMatchObject({ size: 3 });
  });
});

describe.each(STACKS)('version age retention on the %s stack', (stack) => {
  let t: TestRuntime;
  let files: ReturnType<typeof createFiles>;
  const as = (v: Viewer) => createCallerFactory(files.router)({ requestId: 't', viewer: v, ip: undefined, log });

  beforeAll(async () => {
    t = await createTestRuntime(stack, { DEFAULT_QUOTA_BYTES: '1000', VERSIONS_MAX_AGE_DAYS: '30' });
    files = createFiles(t.runtime);
  });
  afterAll(() => t?.close());

  async function commit(me: ReturnType<typeof as>, name: string, content: string, newVersion = false) {
    const { name: backend, store } = t.runtime.storage.defaultBackend();
    const key = newBlobKey();
    await store.put(key, Readable.from([Buffer.from(content)]), Buffer.byteLength(content));
    const contentHash = createHash('sha256').update(content).digest('hex');
    return me.commitFile({ parentId: null, name, size: Buffer.byteLength(content), contentHash, mimeType: null, backend, storageKey: key, ...(newVersion ? { newVersion: true } : {}) });
  }
  const age = (fileId: string, days: number) => t.runtime.orm.em.fork().nativeUpdate(FileVersionRow, { fileId }, { createdAt: new Date(Date.now() - days * 86_400_000) });

  it('a version older than VERSIONS_MAX_AGE_DAYS goes when the next one is added, and with the periodic sweep', async () => {
    const v: Viewer = { userId: randomUUID(), username: 'u', isAdmin: false };
    const me = as(v);
    await me.provisionDrive();
    const f = await commit(me, 'old.txt', 'aged-1');
    await commit(me, 'old.txt', 'aged-22', true);
    await age(f.file.id, 31);
    await commit(me, 'old.txt', 'aged-333', true);
    // The 31-day-old version went in that commit; the one just made stays.
    expect((await me.versions.listMany({ fileIds: [f.file.id] }))[0]?.map((x) => x.size)).toEqual([7]);
    expect(await me.quota()).toMatchObject({ used: 7 + 8 });

    const g = await commit(me, 'idle.txt', 'idle-1');
    await commit(me, 'idle.txt', 'idle-22', true);
    await age(g.file.id, 40);
    expect(await files.versions.sweep()).toBeGreaterThanOrEqual(1);
    expect(await me.versions.listMany({ fileIds: [g.file.id] })).toEqual([[]]);
    expect(await me.quota()).toMatchObject({ used: 7 + 8 + 7 });
    expect((await t.runtime.orm.em.fork().findOne(BlobRow, { contentHash: createHash('sha256').update('idle-1').digest('hex') }))?.refCount ?? 0).toBe(0);
  });
});
