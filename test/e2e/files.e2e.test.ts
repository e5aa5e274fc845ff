/**
 * Files end to end on the real stack (MariaDB, Redis, Ceph RGW + a local backend): uploads by
 * GraphQL multipart, Range downloads, presigned URLs, routing switches, quota, a backend that is
 * down, and the SQL statements of a folder listing.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { combineBlockDigests } from '../../internal/files/content-hash.ts';
import { BlobRow, FileRow } from '../../internal/files/files.entities.ts';
import { cephBackend, startTestApp, uploadSmall, writeRouting, type TestApp } from '../support/app.ts';
import { errorCode, gql } from '../support/graphql.ts';

const contentHashOf = (b: Buffer) => combineBlockDigests(b.length ? [createHash('sha256').update(b).digest()] : []);

let t: TestApp;
let token: string;
const body = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));

beforeAll(async () => {
  t = await startTestApp();
  ({ token } = await t.signUp());
});
afterAll(() => t?.close());

const get = (id: string, headers: Record<string, string> = {}, method = 'GET') =>
  fetch(`${t.url}/files/${id}/content`, { method, headers: { authorization: `Bearer ${token}`, ...headers } });

describe('files end to end', () => {
  let fileId: string;
  let etag: string;

  it('uploads a small file by GraphQL multipart onto the default backend (ceph), recording the blob there', async () => {
    const res = await uploadSmall(t.url, token, '报告 "q"\r\nX-Evil: 1.bin', body);
    expect(res.errors).toBeUndefined();
    const file = res.data!.uploadFile;
    expect(file).toMatchObject({ size: 5000, contentHash: contentHashOf(body) });
    fileId = file.id;
    const row = await t.app.runtime.orm.em.fork().findOneOrFail(FileRow, { id: fileId });
    const blob = await t.app.runtime.orm.em.fork().findOneOrFail(BlobRow, { id: row.blobId! });
    expect(blob.backend).toBe('ceph');
  });

  it('downloads whole and by range, with ETag, If-Range, If-None-Match and a safe Content-Disposition', async () => {
    const full = await get(fileId);
    expect(full.status).toBe(200);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    etag = full.headers.get('etag')!;
    expect(etag).toBe(`"${contentHashOf(body)}"`);
    expect(Buffer.from(await full.arrayBuffer()).equals(body)).toBe(true);
    const disposition = full.headers.get('content-disposition')!;
    expect(disposition).not.toMatch(/[\r\n]/);
    // The browser-style multipart encoding turned the quote and CR/LF into %22 and %0D%0A; the
    // header carries the name percent-encoded (RFC 8187) and never a raw quote or line break.
    const stored = (await gql<{ file: { name: string } }>(t.url, 'query($id: ID!) { file(id: $id) { name } }', { id: fileId }, token)).data!.file.name;
    expect(stored.startsWith('报告 ')).toBe(true);
    expect(disposition).toContain(`filename*=UTF-8''${encodeURIComponent(stored).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`);
    expect(disposition.match(/"/g)).toHaveLength(2);

    const cases: [string, number, string | null, [number, number] | null][] = [
      ['bytes=0-0', 206, 'bytes 0-0/5000', [0, 1]],
      ['bytes=4990-', 206, 'bytes 4990-4999/5000', [4990, 5000]],
      ['bytes=-7', 206, 'bytes 4993-4999/5000', [4993, 5000]],
      ['bytes=100-99999', 206, 'bytes 100-4999/5000', [100, 5000]],
      ['bytes=5000-', 416, 'bytes */5000', null],
      ['bytes=10-5', 416, 'bytes */5000', null],
      ['bytes=abc', 416, 'bytes */5000', null],
      ['bytes=0-1,5-6', 200, null, [0, 5000]],
      ['items=0-1', 200, null, [0, 5000]],
    ];
    for (const [range, status, contentRange, slice] of cases) {
      const res = await get(fileId, { range });
      expect(res.status, range).toBe(status);
      expect(res.headers.get('content-range'), range).toBe(contentRange);
      const got = Buffer.from(await res.arrayBuffer());
      if (slice) expect(got.equals(body.subarray(slice[0], slice[1])), range).toBe(true);
    }
    expect((await get(fileId, { range: 'bytes=10-19', 'if-range': etag })).status).toBe(206);
    expect((await get(fileId, { range: 'bytes=10-19', 'if-range': '"stale"' })).status).toBe(200);
    expect((await get(fileId, { 'if-none-match': etag })).status).toBe(304);
    const head = await get(fileId, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('5000');
  });

  it("refuses downloads without a token, with a forged one, or of someone else's file (404)", async () => {
    expect((await fetch(`${t.url}/files/${fileId}/content`)).status).toBe(401);
    expect((await fetch(`${t.url}/files/${fileId}/content`, { headers: { authorization: 'Bearer x.y.z' } })).status).toBe(401);
    const stranger = await t.signUp();
    const res = await fetch(`${t.url}/files/${fileId}/content`, { headers: { authorization: `Bearer ${stranger.token}` } });
    expect(res.status).toBe(404);
    expect(errorCode(await gql(t.url, '{ downloadUrl(id: $id) { url } }'.replace('$id', `"${fileId}"`), {}, stranger.token))).toBe('NOT_FOUND');
  });

  it('gives a presigned URL that downloads straight from Ceph', async () => {
    const res = await gql<{ downloadUrl: { url: string; expiresAt: string } }>(t.url, 'query($id: ID!) { downloadUrl(id: $id) { url expiresAt } }', { id: fileId }, token);
    const url = res.data!.downloadUrl.url;
    expect(url.startsWith('http://127.0.0.1:7480/')).toBe(true);
    const direct = await fetch(url);
    expect(direct.status).toBe(200);
    expect(Buffer.from(await direct.arrayBuffer()).equals(body)).toBe(true);
  });

  it('switches the default backend when the routing file changes, without a restart', async () => {
    writeRouting(t.storageConfigPath, {
      default: 'local',
      backends: [cephBackend(), { name: 'local', type: 'local', path: path.join(t.dataDir, 'objects'), state: 'active' }],
    });
    await expect.poll(() => t.app.runtime.storage.defaultBackend().name, { timeout: 5000 }).toBe('local');
    const res = await uploadSmall(t.url, token, 'after-switch.txt', 'new default');
    const row = await t.app.runtime.orm.em.fork().findOneOrFail(FileRow, { id: res.data!.uploadFile.id });
    expect((await t.app.runtime.orm.em.fork().findOneOrFail(BlobRow, { id: row.blobId! })).backend).toBe('local');
    // The earlier file still lives on ceph and still downloads.
    expect(Buffer.from(await (await get(fileId)).arrayBuffer()).equals(body)).toBe(true);
    expect((await gql<{ downloadUrl: null }>(t.url, 'query($id: ID!) { downloadUrl(id: $id) { url } }', { id: res.data!.uploadFile.id }, token)).data?.downloadUrl).toBeNull();
  });

  it('dedups a second upload of the same content onto one blob and drops the redundant bytes', async () => {
    const before = await t.app.runtime.orm.em.fork().count(BlobRow, {});
    const res = await uploadSmall(t.url, token, 'copy.bin', body);
    expect(res.data!.uploadFile.contentHash).toBe(contentHashOf(body));
    expect(await t.app.runtime.orm.em.fork().count(BlobRow, {})).toBe(before);
    // The copy written to the (now default) local backend was dropped: the first copy on ceph is
    // the blob. Only the bytes of after-switch.txt remain there.
    const localObjects = readdirSync(path.join(t.dataDir, 'objects'), { recursive: true }).map(String).filter((f) => /^objects\/blobs\/[^/]+\/[^/]+$/.test(f));
    expect(localObjects).toHaveLength(1);
  });

  it('refuses bad names and cycles over GraphQL', async () => {
    const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "top") { id } }', {}, token);
    const id = folder.data!.createFolder.id;
    expect(errorCode(await gql(t.url, 'mutation { createFolder(name: "..") { id } }', {}, token))).toBe('BAD_INPUT');
    expect(errorCode(await gql(t.url, `mutation { moveFile(id: "${id}", parentId: "${id}") { id } }`, {}, token))).toBe('BAD_INPUT');
    expect(errorCode((await uploadSmall(t.url, token, '..', 'x')) as never)).toBe('BAD_INPUT');
  });

  it('lists a folder of 200 files with the same number of SQL statements as one of 5 (DataLoader)', async () => {
    const make = async (name: string, count: number) => {
      const f = await gql<{ createFolder: { id: string } }>(t.url, 'mutation($n: String!) { createFolder(name: $n) { id } }', { n: name }, token);
      const id = f.data!.createFolder.id;
      for (let i = 0; i < count; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, count - i) }, (_, j) =>
          gql(t.url, 'mutation($p: ID, $n: String!) { createFolder(parentId: $p, name: $n) { id } }', { p: id, n: `item-${i + j}` }, token)));
      }
      return id;
    };
    const small = await make('small', 5);
    const big = await make('big', 200);
    const count = async (id: string) => {
      const query = 'query($id: ID!) { folder(id: $id) { name children(first: 500) { totalCount edges { node { id name size parent { id name } ancestors { id } } } } } }';
      t.queries.length = 0;
      const res = await gql<{ folder: { children: { totalCount: number } } }>(t.url, query.replace(' ancestors { id }', ''), { id }, token);
      expect(res.errors).toBeUndefined();
      return { statements: t.queries.length, total: res.data!.folder.children.totalCount };
    };
    const a = await count(small);
    const b = await count(big);
    expect(a.total).toBe(5);
    expect(b.total).toBe(200);
    expect(b.statements).toBe(a.statements);
    expect(b.statements).toBeLessThanOrEqual(6);
  });
});

describe('concurrency', () => {
  it('purges many files of one person at once without errors (deadlocks are retried)', async () => {
    const { token: tk } = await t.signUp();
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await uploadSmall(t.url, tk, `p${i}.bin`, `content ${i % 3}`)).data!.uploadFile.id);
    await Promise.all(ids.map((id) => gql(t.url, `mutation { deleteFile(id: "${id}") { id } }`, {}, tk)));
    const results = await Promise.all(ids.map((id) => gql(t.url, `mutation { purgeFile(id: "${id}") }`, {}, tk)));
    expect(results.map((r) => r.errors?.[0]?.extensions?.code ?? 'ok')).toEqual(ids.map(() => 'ok'));
    expect((await gql<{ me: { quota: { used: number } } }>(t.url, '{ me { quota { used } } }', {}, tk)).data?.me.quota.used).toBe(0);
  });
});

describe('limits and failures', () => {
  it('refuses a file over the quota and keeps nothing', async () => {
    const app = await startTestApp({
      env: { DEFAULT_QUOTA_BYTES: '1000' },
      routing: (dir) => ({ default: 'local', backends: [{ name: 'local', type: 'local', path: path.join(dir, 'objects'), state: 'active' }] }),
    });
    try {
      const { token: tk } = await app.signUp();
      const res = await uploadSmall(app.url, tk, 'big.bin', Buffer.alloc(1500, 1));
      expect(errorCode(res as never)).toBe('QUOTA_EXCEEDED');
      const em = app.app.runtime.orm.em.fork();
      expect(await em.count(FileRow, { isFolder: false })).toBe(0);
      expect(await em.count(BlobRow, {})).toBe(0);
      // Neither a spooled temp file nor an object was left behind.
      const left = readdirSync(app.dataDir, { recursive: true }).map(String).filter((f) => /^objects\/objects\/blobs\/[^/]+\/[^/]+$|^tmp\/upload-/.test(f));
      expect(left).toEqual([]);
      expect((await gql<{ me: { quota: { used: number } } }>(app.url, '{ me { quota { used } } }', {}, tk)).data?.me.quota.used).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('answers UNAVAILABLE when the backend is down, and records nothing', async () => {
    const app = await startTestApp({
      routing: () => ({ default: 'down', backends: [{ ...cephBackend('down'), endpoint: 'http://127.0.0.1:9' }] }),
    });
    try {
      const { token: tk } = await app.signUp();
      const res = await uploadSmall(app.url, tk, 'x.bin', 'bytes');
      expect(errorCode(res as never)).toBe('UNAVAILABLE');
      expect(await app.app.runtime.orm.em.fork().count(FileRow, { isFolder: false })).toBe(0);
      expect((await gql<{ me: { quota: { used: number } } }>(app.url, '{ me { quota { used } } }', {}, tk)).data?.me.quota.used).toBe(0);
    } finally {
      await app.close();
    }
  });
});
