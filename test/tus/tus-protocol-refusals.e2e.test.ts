/**
 * tus 1.0.0 refusals and guarantees against the real stack (MariaDB, Redis, Ceph RGW): wrong
 * offset 409, wrong content type 415, bytes beyond Upload-Length 413 (nothing kept), checksum
 * (sha1/sha256; a mismatch is 460 and keeps the offset, an unknown algorithm 400), bad names 400,
 * quota 413, a stranger's upload URL 404, a READ token 403, termination, expiration 410, two
 * requests racing on one upload (423, nothing corrupted), an interrupted PATCH that keeps what
 * arrived, and the session seen by `uploads` and `uploadProgress`.
 */
import { createClient } from 'graphql-ws';
import { createConnection, type Connection } from 'mysql2/promise';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestApp, type TestApp } from '../support/app.ts';
import { gql } from '../support/graphql.ts';
import { OCTETS, TUS, b64, contentHashOf, metadata, random, tusRequest } from './tus-protocol-harness.ts';

let t: TestApp;
let db: Connection;
let token: string;
let userId: string;

const MiB = 1024 * 1024;
const auth = (as = token) => ({ authorization: `Bearer ${as}`, ...TUS });
const fileRow = async (name: string) => ((await db.query('select size, content_hash from files where owner_id = ? and name = ? and trash_key = ?', [userId, name, '']))[0] as { size: number; content_hash: string }[])[0];

async function create(size: number, name: string, as = token) {
  const res = await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(as), 'upload-length': String(size), 'upload-metadata': metadata({ filename: name }) });
  expect(res.status, res.text).toBe(201);
  return new URL(res.headers.get('location') ?? '', t.url).toString();
}
const patch = (url: string, offset: number, body: RequestInit['body'], headers: Record<string, string> = {}, as = token) =>
  tusRequest(url, 'PATCH', { ...auth(as), ...OCTETS, 'upload-offset': String(offset), ...headers }, body);
const offsetOf = async (url: string) => (await tusRequest(url, 'HEAD', auth())).headers.get('upload-offset');

beforeAll(async () => {
  t = await startTestApp();
  ({ token, userId } = await t.signUp());
  db = await createConnection(t.db.url ?? '');
});

afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('tus PATCH refusals keep the upload as it was', () => {
  it('wrong Upload-Offset: 409, offset unchanged', async () => {
    const url = await create(10 * MiB, 'offset.bin');
    expect((await patch(url, 0, random(MiB))).status).toBe(204);
    const res = await patch(url, 5, random(10));
    expect(res.status).toBe(409);
    expect(res.text).toMatch(/^offset_mismatch: /);
    expect(await offsetOf(url)).toBe(String(MiB));
  });

  it('without Content-Type application/offset+octet-stream: 415', async () => {
    const url = await create(100, 'type.bin');
    const res = await tusRequest(url, 'PATCH', { ...auth(), 'content-type': 'application/octet-stream', 'upload-offset': '0' }, random(100));
    expect(res.status).toBe(415);
    expect(res.text).toMatch(/^content_type: /);
    expect(await offsetOf(url)).toBe('0');
  });

  it('bytes beyond Upload-Length: 413 whether declared or streamed, and none is kept', async () => {
    const url = await create(3 * MiB, 'beyond.bin');
    const declared = await patch(url, 0, random(3 * MiB + 1));
    expect(declared.status).toBe(413);
    expect(declared.text).toMatch(/^beyond_upload_length: /);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(random(2 * MiB)));
        c.enqueue(new Uint8Array(random(2 * MiB)));
        c.close();
      },
    });
    expect((await patch(url, 0, chunked)).status).toBe(413);
    expect(await offsetOf(url)).toBe('0');
    const bytes = random(3 * MiB);
    expect((await patch(url, 0, bytes)).status).toBe(204);
    expect(await fileRow('beyond.bin')).toMatchObject({ size: 3 * MiB, content_hash: contentHashOf(bytes) });
  });

  it('checksum: sha1 and sha256 verified; a mismatch is 460 and records nothing, even whole chunks; md5 is 400', async () => {
    const bytes = random(20 * MiB + 3);
    const url = await create(bytes.length, 'summed.bin');
    const first = bytes.subarray(0, 5 * MiB);
    expect((await patch(url, 0, first, { 'upload-checksum': `sha1 ${b64('sha1', first)}` })).status).toBe(204);
    const rest = bytes.subarray(5 * MiB);
    const wrong = await patch(url, 5 * MiB, rest, { 'upload-checksum': `sha256 ${b64('sha256', random(8))}` });
    expect(wrong.status).toBe(460);
    expect(wrong.text).toMatch(/^checksum_mismatch: /);
    expect(await offsetOf(url)).toBe(String(5 * MiB));
    const md5 = await patch(url, 5 * MiB, rest, { 'upload-checksum': 'md5 1B2M2Y8AsgTpgAmY7PhCfg==' });
    expect([md5.status, md5.text.split(':')[0]]).toEqual([400, 'checksum_algorithm']);
    expect((await patch(url, 5 * MiB, rest, { 'upload-checksum': `sha256 ${b64('sha256', rest)}` })).status).toBe(204);
    expect(await fileRow('summed.bin')).toMatchObject({ size: bytes.length, content_hash: contentHashOf(bytes) });
  });

  it('a PATCH cut off mid-body keeps what arrived (whole chunks and the tail); the upload resumes from there', async () => {
    const bytes = random(30 * MiB);
    const url = await create(bytes.length, 'cut.bin');
    const controller = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      async start(c) {
        for (let at = 0; at < 13 * MiB; at += MiB) c.enqueue(new Uint8Array(bytes.subarray(at, at + MiB)));
        await sleep(1500);
        controller.abort();
      },
    });
    const headers = { ...auth(), ...OCTETS, 'upload-offset': '0', 'content-length': String(bytes.length) };
    await fetch(url, { method: 'PATCH', headers, body, duplex: 'half', signal: controller.signal } as RequestInit).catch(() => undefined);
    let offset = 0;
    await expect.poll(async () => (offset = Number(await offsetOf(url))), { timeout: 15_000 }).toBeGreaterThan(8 * MiB);
    // Stable once the cut-off request has ended (its lock released: a PATCH at the offset is taken).
    let res = await patch(url, offset, bytes.subarray(offset));
    for (let i = 0; res.status === 423 && i < 50; i++) {
      await sleep(200);
      offset = Number(await offsetOf(url));
      res = await patch(url, offset, bytes.subarray(offset));
    }
    expect(offset).toBeLessThanOrEqual(13 * MiB);
    expect(offset % (8 * MiB)).not.toBe(0);
    expect(res.status, res.text).toBe(204);
    expect(await fileRow('cut.bin')).toMatchObject({ size: bytes.length, content_hash: contentHashOf(bytes) });
  }, 60_000);

  it('two requests racing on one upload: the second gets 423 while the first writes; the file is right', async () => {
    const bytes = random(12 * MiB);
    const url = await create(bytes.length, 'race.bin');
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = new ReadableStream<Uint8Array>({
      async start(c) {
        c.enqueue(new Uint8Array(bytes.subarray(0, MiB)));
        await gate;
        c.enqueue(new Uint8Array(bytes.subarray(MiB)));
        c.close();
      },
    });
    const first = patch(url, 0, slow, { 'content-length': String(bytes.length) });
    await sleep(500);
    const second = await patch(url, 0, bytes);
    expect(second.status).toBe(423);
    expect(second.text).toMatch(/^upload_locked: /);
    expect(second.headers.get('retry-after')).toBe('1');
    release();
    expect((await first).status).toBe(204);
    expect(await fileRow('race.bin')).toMatchObject({ size: bytes.length, content_hash: contentHashOf(bytes) });
  });
});

describe('tus creation refusals', () => {
  it('a bad or missing file name: 400 with the drive\'s reason', async () => {
    for (const [meta, reason] of [[metadata({ filename: 'a/b.txt' }), 'name_invalid_character'], [metadata({ filetype: 'text/plain' }), 'name_empty'], ['filename not-base64!', 'metadata_invalid']] as const) {
      const res = await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), 'upload-length': '5', 'upload-metadata': meta });
      expect([res.status, res.text.split(':')[0]]).toEqual([400, reason]);
    }
  });

  it('an upload larger than the room left: 413; Upload-Length missing or deferred: 400', async () => {
    const res = await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), 'upload-length': String(11 * 1024 ** 3), 'upload-metadata': metadata({ filename: 'huge.bin' }) });
    expect(res.status).toBe(413);
    expect((await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), 'upload-metadata': metadata({ filename: 'x.bin' }) })).status).toBe(400);
    expect((await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(), 'upload-defer-length': '1', 'upload-metadata': metadata({ filename: 'x.bin' }) })).status).toBe(400);
  });

  it('a READ-only personal access token may HEAD but not create (403); a WRITE one creates', async () => {
    const made = async (scopes: string[]) =>
      (await gql<{ createAccessToken: { token: string } }>(t.url, 'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }', { i: { name: `tus ${scopes.join()}`, scopes } }, token)).data?.createAccessToken.token ?? '';
    const [read, write] = [await made(['READ']), await made(['READ', 'WRITE'])];
    const refused = await tusRequest(`${t.url}/tus/`, 'POST', { ...auth(read), 'upload-length': '5', 'upload-metadata': metadata({ filename: 'pat.bin' }) });
    expect([refused.status, refused.text.split(':')[0]]).toEqual([403, 'token_scope']);
    const url = await create(5, 'pat.bin', write);
    expect((await tusRequest(url, 'HEAD', auth(read))).headers.get('upload-offset')).toBe('0');
  });
});

describe('tus uploads are upload sessions', () => {
  it('another person\'s upload URL is 404 for HEAD, PATCH and DELETE', async () => {
    const url = await create(10, 'mine.bin');
    const other = (await t.signUp()).token;
    expect((await tusRequest(url, 'HEAD', auth(other))).status).toBe(404);
    expect((await patch(url, 0, random(10), {}, other)).status).toBe(404);
    expect((await tusRequest(url, 'DELETE', auth(other))).status).toBe(404);
    expect(await offsetOf(url)).toBe('0');
  });

  it('listed by `uploads` and followed by uploadProgress; DELETE terminates it (204, then 404)', async () => {
    const url = await create(16 * MiB, 'listed.bin');
    const id = url.split('/').at(-1) ?? '';
    const events: { status: string; uploadedBytes: number }[] = [];
    const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    client.subscribe(
      { query: 'subscription($id: ID!) { uploadProgress(sessionId: $id) { status uploadedBytes } }', variables: { id } },
      { next: (v) => events.push((v.data as { uploadProgress: (typeof events)[number] }).uploadProgress), error: () => undefined, complete: () => undefined },
    );
    await expect.poll(() => events.length).toBeGreaterThan(0);
    expect((await patch(url, 0, random(9 * MiB))).status).toBe(204);
    await expect.poll(() => events.some((e) => e.status === 'UPLOADING' && e.uploadedBytes === 8 * MiB)).toBe(true);
    const listed = await gql<{ uploads: { id: string; name: string; uploadedBytes: number; size: number }[] }>(t.url, '{ uploads { id name uploadedBytes size } }', {}, token);
    expect(listed.data?.uploads).toContainEqual({ id, name: 'listed.bin', uploadedBytes: 8 * MiB, size: 16 * MiB });
    expect((await tusRequest(url, 'DELETE', auth())).status).toBe(204);
    await expect.poll(() => events.at(-1)?.status).toBe('CANCELLED');
    await client.dispose();
    expect((await tusRequest(url, 'HEAD', auth())).status).toBe(404);
    const after = await gql<{ uploads: { id: string }[] }>(t.url, '{ uploads { id } }', {}, token);
    expect(after.data?.uploads.map((u) => u.id)).not.toContain(id);
  });

  it('a PATCH that records no whole chunk still pushes the idle expiry back', async () => {
    const url = await create(10 * MiB, 'idle.bin');
    await db.query('update upload_sessions set expires_at = ? where id = ?', [new Date(Date.now() + 3_600_000), url.split('/').at(-1)]);
    const res = await patch(url, 0, random(1000));
    expect(res.status).toBe(204);
    const now = await tusRequest(url, 'HEAD', auth());
    expect(now.headers.get('upload-offset')).toBe('1000');
    expect(Date.parse(now.headers.get('upload-expires') ?? '')).toBeGreaterThan(Date.now() + 23 * 3_600_000);
  });

  it('an expired upload answers 410 Gone to HEAD and PATCH', async () => {
    const url = await create(10, 'expired.bin');
    const made = await tusRequest(url, 'HEAD', auth());
    expect(Date.parse(made.headers.get('upload-expires') ?? '')).toBeGreaterThan(Date.now());
    await db.query('update upload_sessions set expires_at = ? where id = ?', [new Date(Date.now() - 1000), url.split('/').at(-1)]);
    const head = await tusRequest(url, 'HEAD', auth());
    expect([head.status, head.headers.get('upload-offset')]).toEqual([410, null]);
    const res = await patch(url, 0, random(10));
    expect([res.status, res.text.split(':')[0]]).toEqual([410, 'session_expired']);
  });
});
