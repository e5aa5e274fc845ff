/**
 * Upload bombs and names, on the real stack: chunk bodies that lie about their size (longer,
 * shorter, Content-Length smaller than the body, a body that stops early), an endless chunk
 * stream, thousands of sessions, and names built to break headers or paths.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_OPEN_SESSIONS } from '../../internal/uploads/uploads.service.ts';
import { UploadSessionRow } from '../../internal/uploads/uploads.entities.ts';
import { startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { redisEnv } from '../support/env.ts';
import { errorCode, gql } from '../support/graphql.ts';

const MiB = 1024 * 1024;
let t: TestApp;
let alice: { token: string; userId: string };

beforeAll(async () => {
  t = await startTestApp({ env: { ...redisEnv(14) } });
  alice = await t.signUp();
});
afterAll(() => t?.close());

async function session(size: number, token = alice.token): Promise<string> {
  const res = await gql<{ createUpload: { id: string } }>(t.url, 'mutation($i: CreateUploadInput!) { createUpload(input: $i) { id } }', { i: { name: `b-${randomBytes(4).toString('hex')}.bin`, size } }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createUpload.id;
}
const uploaded = async (sid: string) =>
  (await gql<{ upload: { uploadedChunks: number[] } }>(t.url, 'query($id: ID!) { upload(id: $id) { uploadedChunks } }', { id: sid }, alice.token)).data!.upload.uploadedChunks;
const healthy = async () => expect((await fetch(`${t.url}/healthz`)).status).toBe(200);

/** PUT a chunk with a streamed body (chunked transfer encoding: no Content-Length). */
async function putStream(sid: string, index: number, parts: Buffer[]) {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
  const res = await fetch(`${t.url}/upload/${sid}/${index}`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body, duplex: 'half' } as RequestInit);
  return { status: res.status, body: (await res.json()) as { error?: { code: string; details?: { reason?: string } } } };
}

/** A raw request over a socket: what a client that lies in its headers sends. Resolves with the first status line, or 'closed'. */
function raw(head: string, body: Buffer, endAfter = true): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(new URL(t.url).port as unknown as number, '127.0.0.1');
    let answer = '';
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer || 'closed'));
    socket.write(head);
    socket.write(body, () => {
      if (endAfter) socket.end();
    });
    setTimeout(() => socket.destroy(), 15_000).unref();
  });
}

describe('chunk bodies that lie about their size', () => {
  it('refuses a body longer or shorter than the chunk, by Content-Length or by what arrives; nothing is recorded', async () => {
    const sid = await session(10 * MiB); // chunks: 8 MiB + 2 MiB
    const put = (body: Buffer) => fetch(`${t.url}/upload/${sid}/1`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body });
    for (const size of [3 * MiB, 1 * MiB, 0]) {
      const res = await put(Buffer.alloc(size, 1));
      expect(res.status, `${size} bytes`).toBe(400);
      expect(((await res.json()) as { error: { details: { reason: string } } }).error.details.reason).toBe('chunk_length');
    }
    // Without a Content-Length the server counts: more or fewer bytes than the chunk are refused.
    const longer = await putStream(sid, 1, [Buffer.alloc(MiB, 1), Buffer.alloc(MiB, 2), Buffer.alloc(MiB, 3)]);
    expect(longer.status).toBeGreaterThanOrEqual(400);
    expect(longer.status).toBeLessThan(500);
    const shorter = await putStream(sid, 1, [Buffer.alloc(MiB, 1)]);
    expect(shorter.status).toBeGreaterThanOrEqual(400);
    expect(shorter.status).toBeLessThan(500);
    expect(await uploaded(sid)).toEqual([]);
    // The slot is free again: the honest chunk goes in.
    const ok = await putStream(sid, 1, [Buffer.alloc(2 * MiB, 9)]);
    expect(ok.status).toBe(200);
    expect(await uploaded(sid)).toEqual([1]);
    await healthy();
  });

  it('a Content-Length smaller than the body: refused before reading, the rest is not taken as the chunk', async () => {
    const sid = await session(2 * MiB);
    const head = `PUT /upload/${sid}/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nContent-Length: 100\r\n\r\n`;
    const answer = await raw(head, Buffer.alloc(2 * MiB, 0x41));
    // Either the handler's refusal (chunk_length) or, when the parser reaches the surplus bytes
    // first, Node's own 400 for the garbage "next request": a 4xx and a closed connection either way.
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).not.toMatch(/HTTP\/1\.1 5\d\d/);
    expect(await uploaded(sid)).toEqual([]);
    await healthy();
  });

  it('a body that stops before its Content-Length: the chunk is dropped, the slot freed', async () => {
    const sid = await session(2 * MiB);
    const head = `PUT /upload/${sid}/0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\nContent-Length: ${2 * MiB}\r\n\r\n`;
    await raw(head, Buffer.alloc(MiB, 0x42));
    await expect.poll(async () => (await putStream(sid, 0, [Buffer.alloc(2 * MiB, 7)])).status, { timeout: 15_000 }).toBe(200);
    expect(await uploaded(sid)).toEqual([0]);
    await healthy();
  });

  it('an endless chunk stream is cut off with an error soon after the chunk size, and the server stays healthy', async () => {
    const sid = await session(8 * MiB);
    const block = Buffer.alloc(256 * 1024, 0x43);
    const limit = 256 * MiB; // give up sending long before this if the server never stops us
    let sent = 0;
    const outcome = await new Promise<{ status?: number; error?: string }>((resolve) => {
      const req = http.request(`${t.url}/upload/${sid}/0`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}`, 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
        req.destroy();
      });
      req.on('error', (error) => resolve({ error: error.message }));
      const pump = () => {
        while (sent < limit) {
          sent += block.length;
          if (!req.write(block)) return void req.once('drain', pump);
        }
        resolve({ error: 'never cut off' });
        req.destroy();
      };
      pump();
    });
    expect(outcome.error).not.toBe('never cut off');
    if (outcome.status !== undefined) {
      expect(outcome.status).toBeGreaterThanOrEqual(400);
      expect(outcome.status).toBeLessThan(500);
    }
    // Cut off near the chunk size (8 MiB), not after reading everything it was sent.
    expect(sent).toBeLessThan(64 * MiB);
    expect(await uploaded(sid)).toEqual([]);
    await healthy();
    const ok = await fetch(`${t.url}/upload/${sid}/0`, { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body: Buffer.alloc(8 * MiB, 1) });
    expect(ok.status).toBe(200);
  }, 60_000);
});

describe('many sessions', () => {
  it(`refuses more than ${MAX_OPEN_SESSIONS} unfinished sessions per person; others are not affected`, async () => {
    const carol = await t.signUp();
    // The first MAX_OPEN_SESSIONS - 1 go straight into the database (a backend multipart each
    // would only make the test slow); the limit counts rows, whatever made them.
    const now = new Date();
    const rows = Array.from({ length: MAX_OPEN_SESSIONS - 1 }, (_, i) =>
      Object.assign(new UploadSessionRow(), {
        id: randomUUID(), ownerId: carol.userId, parentId: carol.userId, name: `pre-${i}.bin`, size: 10, chunkSize: 8 * MiB, chunkCount: 1, contentHash: null, mimeType: null,
        status: 'PENDING', backend: 'ceph', storageKey: '', multipartId: '', fileId: null, challengeNonce: null, challengeRanges: null, proofAttempts: 0, failureReason: null,
        createdAt: now, updatedAt: now, expiresAt: new Date(now.getTime() + 3_600_000),
      }),
    );
    await t.app.runtime.orm.em.fork().insertMany(UploadSessionRow, rows);
    const last = await session(10, carol.token);
    const refused = await gql(t.url, 'mutation { createUpload(input: { name: "one-too-many.bin", size: 10 }) { id } }', {}, carol.token);
    expect(errorCode(refused)).toBe('RATE_LIMITED');
    expect(refused.errors?.[0]?.extensions?.details?.reason).toBe('too_many_sessions');
    // Cancelling one makes room for one.
    expect((await gql(t.url, 'mutation($id: ID!) { cancelUpload(sessionId: $id) }', { id: last }, carol.token)).data).toEqual({ cancelUpload: true });
    await session(10, carol.token);
    expect(await session(10)).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);

  it('holds the limit under a concurrent burst at the edge', async () => {
    const erin = await t.signUp();
    const now = new Date();
    const rows = Array.from({ length: MAX_OPEN_SESSIONS - 3 }, (_, i) =>
      Object.assign(new UploadSessionRow(), {
        id: randomUUID(), ownerId: erin.userId, parentId: erin.userId, name: `pre-${i}.bin`, size: 10, chunkSize: 8 * MiB, chunkCount: 1, contentHash: null, mimeType: null,
        status: 'PENDING', backend: 'ceph', storageKey: '', multipartId: '', fileId: null, challengeNonce: null, challengeRanges: null, proofAttempts: 0, failureReason: null,
        createdAt: now, updatedAt: now, expiresAt: new Date(now.getTime() + 3_600_000),
      }),
    );
    await t.app.runtime.orm.em.fork().insertMany(UploadSessionRow, rows);
    const burst = await Promise.all(
      Array.from({ length: 40 }, (_, i) => gql<{ createUpload: { id: string } }>(t.url, 'mutation($n: String!) { createUpload(input: { name: $n, size: 10 }) { id } }', { n: `edge-${i}.bin` }, erin.token)),
    );
    const made = burst.flatMap((r) => (r.data ? [r.data.createUpload.id] : []));
    console.log(`edge burst: ${made.length} of 40 created with room for 3`);
    expect(burst.filter((r) => r.data === null || r.data === undefined).every((r) => errorCode(r) === 'RATE_LIMITED')).toBe(true);
    expect(await t.app.runtime.orm.em.fork().count(UploadSessionRow, { ownerId: erin.userId, status: 'PENDING' })).toBeLessThanOrEqual(MAX_OPEN_SESSIONS);
    await Promise.all(made.map((id) => gql(t.url, 'mutation($id: ID!) { cancelUpload(sessionId: $id) }', { id }, erin.token)));
  }, 60_000);

  it('answers a burst of 300 session creations without a 500 and stays healthy', async () => {
    const dave = await t.signUp();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => gql<{ createUpload: { id: string } }>(t.url, 'mutation($n: String!) { createUpload(input: { name: $n, size: 10 }) { id } }', { n: `burst-${i}.bin` }, dave.token)),
    );
    const elapsed = Date.now() - started;
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.filter((r) => errorCode(r) === 'INTERNAL')).toEqual([]);
    const ids = results.flatMap((r) => (r.data ? [r.data.createUpload.id] : []));
    expect(ids.length).toBe(300);
    await healthy();
    console.log(`300 concurrent createUpload: ${elapsed} ms`);
    // Leave no multipart uploads behind in the shared bucket.
    for (let i = 0; i < ids.length; i += 50) {
      await Promise.all(ids.slice(i, i + 50).map((id) => gql(t.url, 'mutation($id: ID!) { cancelUpload(sessionId: $id) }', { id }, dave.token)));
    }
  }, 120_000);
});

describe('names', () => {
  const hostile = ['quote"d.txt', "it's; filename=evil.txt", 'ünïcødé 文件 😀.txt', '\u202Egnp.exe', '%0d%0aSet-Cookie: x=1.txt', '<img src=x onerror=alert(1)>.html', 'x'.repeat(200) + '.txt'];

  it('Content-Disposition stays one well-formed header whatever the name', async () => {
    for (const name of hostile) {
      const res = await uploadSmall(t.url, alice.token, `tmp-${randomBytes(3).toString('hex')}`, 'bytes');
      const id = res.data!.uploadFile.id;
      const renamed = await gql<{ renameFile: { name: string } }>(t.url, 'mutation($id: ID!, $n: String!) { renameFile(id: $id, name: $n) { name } }', { id, n: name }, alice.token);
      expect(renamed.data?.renameFile.name, JSON.stringify(renamed.errors)).toBe(name);
      for (const inline of ['', '?inline=1']) {
        const download = await fetch(`${t.url}/files/${id}/content${inline}`, { headers: { authorization: `Bearer ${alice.token}` } });
        expect(download.status).toBe(200);
        const cd = download.headers.get('content-disposition') ?? '';
        expect(cd, name).toMatch(/^attachment; filename="[\x20-\x21\x23-\x5b\x5d-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
        expect(decodeURIComponent(/filename\*=UTF-8''(.*)$/.exec(cd)![1]!)).toBe(name);
        expect(download.headers.get('set-cookie')).toBeNull();
        expect(download.headers.get('x-content-type-options')).toBe('nosniff');
        await download.arrayBuffer();
      }
    }
  });

  it('refuses names with "/", "\\", CR/LF or other control characters, and names made of dots, everywhere a name is given', async () => {
    const bad = ['a/b.txt', '../../etc/passwd', '..', '.', 'a\\b', 'line\r\nSet-Cookie: x=1', 'nul\u0000.txt', 'tab\t.txt', ''];
    const id = (await uploadSmall(t.url, alice.token, 'rename-me.txt', 'x')).data!.uploadFile.id;
    for (const name of bad) {
      const calls = [
        gql(t.url, 'mutation($n: String!) { createFolder(name: $n) { id } }', { n: name }, alice.token),
        gql(t.url, 'mutation($id: ID!, $n: String!) { renameFile(id: $id, name: $n) { id } }', { id, n: name }, alice.token),
        gql(t.url, 'mutation($n: String!) { createUpload(input: { name: $n, size: 1 }) { id } }', { n: name }, alice.token),
      ];
      for (const res of await Promise.all(calls)) {
        expect(errorCode(res), `${JSON.stringify(name)}: ${JSON.stringify(res.errors)}`).toBe('BAD_INPUT');
        expect(res.data ?? null).toBeNull();
      }
    }
    // The multipart file name of uploadFile: refused, or cut to its last segment; never a path.
    for (const name of ['a/b.txt', '../escape.txt', '..\\..\\win.txt']) {
      const res = await uploadSmall(t.url, alice.token, name, 'x');
      const stored = res.data?.uploadFile.name;
      if (stored === undefined) expect(res.errors?.[0]?.extensions?.code, name).toBe('BAD_INPUT');
      else expect(stored, name).toMatch(/^[^/\\]+$/);
      if (stored) expect(stored).not.toMatch(/^\.\.?$/);
    }
  });
});
