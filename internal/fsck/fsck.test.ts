/**
 * The consistency checker on the real stack (MariaDB, Redis, Ceph RGW): each kind of
 * inconsistency is made on purpose behind the services' backs, then found, and repaired when that
 * is safe. The Ceph bucket is shared with other test files running at the same time, so multipart
 * checks look only under a prefix of this file's own (or a session's key), never at 'blobs/' as a
 * whole, where --repair would abort other tests' uploads.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobRow, FileRow } from '../files/files.entities.ts';
import { UploadSessionRow } from '../uploads/uploads.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../../test/support/app.ts';
import { testEnv } from '../../test/support/env.ts';
import { gql } from '../../test/support/graphql.ts';
import { TEST_JWT_SECRET } from '../../test/support/runtime.ts';
import { runFsck, type FindingKind, type FsckOptions, type FsckReport } from './fsck.ts';

let t: TestApp;
let token: string;

beforeAll(async () => {
  t = await startTestApp();
  token = (await t.signUp()).token;
});
afterAll(() => t?.close());

const em = () => t.app.runtime.orm.em.fork();
const fsck = (options: Partial<FsckOptions> = {}) =>
  runFsck({ orm: t.app.runtime.orm, storage: t.app.runtime.storage, kv: t.app.runtime.kv }, { repair: false, prefix: `blobs/fsck-none-${randomBytes(4).toString('hex')}/`, ...options });
const about = (report: FsckReport, kind: FindingKind, subject: string) => report.findings.filter((f) => f.kind === kind && f.subject.includes(subject));

async function upload(name: string, body = randomBytes(3000)) {
  const res = await uploadSmall(t.url, token, name, body);
  const id = res.data!.uploadFile.id;
  const file = await em().findOneOrFail(FileRow, { id });
  const blob = await em().findOneOrFail(BlobRow, { id: file.blobId! });
  return { file, blob };
}

describe('stratus fsck', () => {
  it('finds nothing in a consistent drive', async () => {
    await upload('fine-1.bin');
    await upload('fine-2.bin');
    const report = await fsck();
    expect(report.findings).toEqual([]);
    expect(report.clean).toBe(true);
  });

  it('counts a file version as a reference: a blob only a version uses is neither unreferenced nor mismatched', async () => {
    const { file, blob } = await upload('versioned.bin');
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: 'mutation($f: Upload!) { uploadFile(file: $f, conflict: NEW_VERSION) { id } }', variables: { f: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.f'] }));
    form.append('0', new Blob([randomBytes(3000)]), 'versioned.bin');
    const res = await fetch(`${t.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' }, body: form });
    expect(((await res.json()) as { data?: { uploadFile: { id: string } } }).data?.uploadFile.id).toBe(file.id);
    const report = await fsck({ repair: true });
    expect(about(report, 'blob_unreferenced', blob.id)).toEqual([]);
    expect(about(report, 'refcount_mismatch', blob.id)).toEqual([]);
    expect((await em().findOneOrFail(BlobRow, { id: blob.id }, { refresh: true })).refCount).toBe(1);
  });

  it('finds a blob without files and, with --repair, deletes its row and its object', async () => {
    const { file, blob } = await upload('orphan.bin');
    await em().nativeDelete(FileRow, { id: file.id });
    const store = t.app.runtime.storage.store(blob.backend);
    expect(await store.head(blob.storageKey)).not.toBeNull();

    const found = await fsck();
    expect(about(found, 'blob_unreferenced', blob.id)).toHaveLength(1);
    expect(found.clean).toBe(false);
    expect(await em().count(BlobRow, { id: blob.id })).toBe(1);

    const repaired = await fsck({ repair: true });
    expect(about(repaired, 'blob_unreferenced', blob.id)[0]?.repaired).toBe(true);
    expect(await em().count(BlobRow, { id: blob.id })).toBe(0);
    expect(await store.head(blob.storageKey)).toBeNull();
    expect(about(await fsck(), 'blob_unreferenced', blob.id)).toEqual([]);
  });

  it('also calls a blob with refCount 0 and no files unreferenced', async () => {
    const { file, blob } = await upload('zero.bin');
    await em().nativeDelete(FileRow, { id: file.id });
    await em().nativeUpdate(BlobRow, { id: blob.id }, { refCount: 0 });
    expect(about(await fsck(), 'blob_unreferenced', blob.id)[0]?.detail).toContain('refCount 0');
    await fsck({ repair: true });
    expect(await em().count(BlobRow, { id: blob.id })).toBe(0);
  });

  it('finds refcounts that disagree with the file rows and recomputes them', async () => {
    const { blob } = await upload('counted.bin');
    await em().nativeUpdate(BlobRow, { id: blob.id }, { refCount: 5 });
    // A second file of the same content (dedup) makes the true count 2.
    const bytes = await t.app.runtime.storage.store(blob.backend).get(blob.storageKey);
    const chunks: Buffer[] = [];
    for await (const c of bytes.body as AsyncIterable<Buffer>) chunks.push(c);
    await uploadSmall(t.url, token, 'counted-copy.bin', Buffer.concat(chunks));
    expect((await em().findOneOrFail(BlobRow, { id: blob.id })).refCount).toBe(6);

    const found = about(await fsck(), 'refcount_mismatch', blob.id);
    expect(found[0]?.detail).toBe('refCount 6, file rows 2');
    await fsck({ repair: true });
    expect((await em().findOneOrFail(BlobRow, { id: blob.id })).refCount).toBe(2);
    expect(about(await fsck(), 'refcount_mismatch', blob.id)).toEqual([]);
  });

  it('reports a file whose bytes are gone from the backend, and cannot repair it', async () => {
    const { file, blob } = await upload('lost.bin');
    await t.app.runtime.storage.store(blob.backend).delete(blob.storageKey);
    const report = await fsck({ repair: true });
    const finding = about(report, 'blob_object_missing', blob.id)[0];
    expect(finding).toMatchObject({ repairable: false, repaired: false });
    expect(finding?.detail).toContain(file.id);
    expect(report.clean).toBe(false);
    // Left for an operator: the rows stay as they are.
    expect(await em().count(FileRow, { id: file.id })).toBe(1);
    await em().nativeDelete(FileRow, { id: file.id });
    await fsck({ repair: true });
  });

  it('reports a file whose blob row is missing', async () => {
    const { file, blob } = await upload('rowless.bin');
    await em().nativeDelete(BlobRow, { id: blob.id });
    const report = await fsck({ repair: true });
    expect(about(report, 'file_blob_missing', file.id)[0]).toMatchObject({ repairable: false, repaired: false, detail: `blob ${blob.id} does not exist` });
    await em().nativeDelete(FileRow, { id: file.id });
    await t.app.runtime.storage.store(blob.backend).delete(blob.storageKey);
    expect(about(await fsck(), 'file_blob_missing', file.id)).toEqual([]);
  });

  it('finds an orphaned backend multipart upload (no session owns it) and aborts it', async () => {
    const prefix = `blobs/fsck-${randomBytes(6).toString('hex')}/`;
    const store = t.app.runtime.storage.store('ceph');
    const key = `${prefix}${randomBytes(8).toString('hex')}`;
    const uploadId = await store.createMultipart(key);
    await store.uploadPart(key, uploadId, 1, Readable.from([Buffer.alloc(1000, 7)]), 1000);

    // Young uploads are given time: their session row may be being written right now.
    expect(about(await fsck({ prefix }), 'multipart_orphaned', key)).toEqual([]);
    const found = await fsck({ prefix, multipartGraceMs: 0 });
    expect(about(found, 'multipart_orphaned', key)).toHaveLength(1);
    const repaired = await fsck({ prefix, multipartGraceMs: 0, repair: true });
    expect(about(repaired, 'multipart_orphaned', key)[0]?.repaired).toBe(true);
    expect((await store.listMultipartUploads(prefix)).filter((u) => u.key === key)).toEqual([]);
  });

  it("leaves an open session's multipart alone, and expires a session past its expiry", async () => {
    const created = await gql<{ createUpload: { id: string } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', { i: { name: 'slow.bin', size: 20 * 1024 * 1024 } }, token);
    const sid = created.data!.createUpload.id;
    const row = await em().findOneOrFail(UploadSessionRow, { id: sid });
    const store = t.app.runtime.storage.store(row.backend);
    expect((await store.listMultipartUploads(row.storageKey)).map((u) => u.uploadId)).toContain(row.multipartId);

    const healthy = await fsck({ prefix: row.storageKey, multipartGraceMs: 0 });
    expect(about(healthy, 'multipart_orphaned', row.storageKey)).toEqual([]);
    expect(about(healthy, 'session_expired_open', sid)).toEqual([]);

    await em().nativeUpdate(UploadSessionRow, { id: sid }, { expiresAt: new Date(Date.now() - 60_000) });
    const found = await fsck({ prefix: row.storageKey, multipartGraceMs: 0 });
    expect(about(found, 'session_expired_open', sid)).toHaveLength(1);
    // Still the session's own upload while the session is open.
    expect(about(found, 'multipart_orphaned', row.storageKey)).toEqual([]);

    const repaired = await fsck({ prefix: row.storageKey, multipartGraceMs: 0, repair: true });
    expect(about(repaired, 'session_expired_open', sid)[0]?.repaired).toBe(true);
    expect((await em().findOneOrFail(UploadSessionRow, { id: sid })).status).toBe('EXPIRED');
    expect((await store.listMultipartUploads(row.storageKey)).map((u) => u.uploadId)).not.toContain(row.multipartId);
    expect(about(await fsck({ prefix: row.storageKey, multipartGraceMs: 0 }), 'session_expired_open', sid)).toEqual([]);
  });
});

describe('the stratus fsck command', () => {
  // A drive of its own on a local backend: a clean result must not depend on what other test
  // files leave in the shared Ceph bucket.
  let local: TestApp;
  beforeAll(async () => {
    local = await startTestApp({
      routing: (dir) => ({ default: 'local', backends: [{ name: 'local', type: 'local', path: path.join(dir, 'objects'), state: 'active' }] }),
    });
  });
  afterAll(() => local?.close());

  const run = (...args: string[]) => {
    const res = spawnSync(process.execPath, ['--import', 'tsx', path.join(testEnv.root, 'cli/main.ts'), 'fsck', ...args], {
      cwd: testEnv.root,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH ?? '', DATABASE_URL: local.db.url ?? '', STORAGE_CONFIG: local.storageConfigPath, DATA_DIR: local.dataDir,
        REDIS_URL: testEnv.redisUrl, JWT_SECRET: TEST_JWT_SECRET, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      },
    });
    return { code: res.status, stdout: res.stdout, stderr: res.stderr };
  };

  it('prints a line per finding kind and exits 0 when clean, 1 while problems remain', async () => {
    const owner = (await local.signUp()).token;
    const kept = (await uploadSmall(local.url, owner, 'kept.txt', 'kept')).data!.uploadFile.id;
    const gone = (await uploadSmall(local.url, owner, 'gone.txt', 'gone')).data!.uploadFile.id;
    const clean = run();
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('blob_unreferenced: 0 blobs without files (ok)');
    expect(clean.stdout).toContain('multipart_orphaned: 0 orphaned multipart uploads (ok)');
    expect(clean.stdout.trim().split('\n').at(-1)).toBe('fsck: clean');

    const lem = () => local.app.runtime.orm.em.fork();
    const goneRow = await lem().findOneOrFail(FileRow, { id: gone });
    await lem().nativeDelete(FileRow, { id: gone });
    const keptRow = await lem().findOneOrFail(FileRow, { id: kept });
    await lem().nativeUpdate(BlobRow, { id: keptRow.blobId! }, { refCount: 3 });

    const dirty = run();
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain('blob_unreferenced: 1 blobs without files (repairable with --repair)');
    expect(dirty.stdout).toContain('refcount_mismatch: 1 refcounts that disagree (repairable with --repair)');
    expect(dirty.stderr).toContain('2 problem(s) remain');

    const repaired = run('--repair');
    expect(repaired.code, repaired.stdout + repaired.stderr).toBe(0);
    expect(repaired.stdout).toContain('blob_unreferenced: 1 blobs without files (1 repaired)');
    expect(await lem().count(BlobRow, { id: goneRow.blobId! })).toBe(0);
    expect((await lem().findOneOrFail(BlobRow, { id: keptRow.blobId! })).refCount).toBe(1);
    expect(run().code).toBe(0);
    expect(run('--bogus').code).toBe(2);
  }, 120_000);
  it('never expires a COMPLETING session past its expiry: the status table has no such edge (check 4 owns it)', async () => {
    const created = await gql<{ createUpload: { id: string } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', { i: { name: 'finishing.bin', size: 20 * 1024 * 1024 } }, token);
    const sid = created.data!.createUpload.id;
    await em().nativeUpdate(UploadSessionRow, { id: sid }, { status: 'COMPLETING', expiresAt: new Date(Date.now() - 60_000) });
    const row = await em().findOneOrFail(UploadSessionRow, { id: sid });

    const repaired = await fsck({ prefix: row.storageKey, multipartGraceMs: 0, repair: true });
    expect(about(repaired, 'session_expired_open', sid)).toEqual([]);
    // Check 4 may restart the dead completion (UPLOADING); it never becomes EXPIRED.
    expect((await em().findOneOrFail(UploadSessionRow, { id: sid }, { refresh: true })).status).not.toBe('EXPIRED');
  });
});
