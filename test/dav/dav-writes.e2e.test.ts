/**
 * WebDAV writes against the real stack (MariaDB, Redis, Ceph): PUT (new, replace, dedup, quota,
 * names, missing folder, a 400 MiB stream with the process's memory bounded), PROPPATCH kept
 * across PROPFIND, COPY and MOVE, LOCK/UNLOCK with the If header on writes.
 */
import { createConnection, type Connection } from 'mysql2/promise';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephBackend, startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { createMysqlDatabase, tempDir, type TestDatabase } from '../support/db.ts';
import { redisEnv } from '../support/env.ts';
import { gql } from '../support/graphql.ts';
import { TEST_JWT_SECRET } from '../support/runtime.ts';
import { startServerProcess, type ServerProcess } from '../support/server.ts';
import { startInbox, type Inbox } from '../support/smtp.ts';
import { PART_SIZE, PARTS_IN_FLIGHT } from '../../internal/uploads/multipart-stream.writer.ts';

let t: TestApp;
let db: Connection;
let token: string;
let userId: string;

const dav = (path: string) => `${t.url}/dav/${path}`;
async function req(method: string, path: string, headers: Record<string, string> = {}, body?: RequestInit['body']): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(dav(path), { method, headers: { authorization: `Bearer ${token}`, ...headers }, ...(body === undefined ? {} : { body, duplex: 'half' }) } as RequestInit);
  return { status: res.status, text: await res.text(), headers: res.headers };
}
const put = (path: string, body: RequestInit['body'], headers: Record<string, string> = {}) => req('PUT', path, headers, body);
const quotaUsed = async () => Number(((await db.query('select used_bytes from quotas where user_id = ?', [userId]))[0] as { used_bytes: number }[])[0]?.used_bytes);
const blobCount = async () => Number(((await db.query('select count(*) as n from blobs'))[0] as { n: number }[])[0]?.n);
const fileRow = async (name: string) => ((await db.query('select id, size, content_hash, mime_type from files where owner_id = ? and name = ? and trash_key = ?', [userId, name, '']))[0] as { id: string; size: number; content_hash: string; mime_type: string | null }[])[0];

/** A body that arrives in pieces with no Content-Length (chunked transfer coding). */
function chunked(total: number, piece = 256 * 1024, seed = 1): ReadableStream<Uint8Array> {
  let sent = 0;
  const block = Buffer.alloc(piece);
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(piece, total - sent);
      block.writeUInt32LE(seed, 0);
      block.writeUInt32LE(sent / piece, 4);
      controller.enqueue(new Uint8Array(block.subarray(0, n)));
      sent += n;
    },
  });
}

beforeAll(async () => {
  t = await startTestApp();
  ({ token, userId } = await t.signUp());
  db = await createConnection(t.db.url ?? '');
});

afterAll(async () => {
  await db?.end();
  await t?.close();
});

describe('PUT', () => {
  it('creates (201 + ETag), replaces in place (204, same id), and answers GET with the new bytes', async () => {
    const created = await put('hello.txt', 'hello world', { 'content-type': 'text/plain; charset=utf-8' });
    expect(created.status).toBe(201);
    const row = await fileRow('hello.txt');
    expect(created.headers.get('etag')).toBe(`"${row?.content_hash}"`);
    const replaced = await put('hello.txt', 'hello again, longer');
    expect(replaced.status).toBe(204);
    const after = await fileRow('hello.txt');
    expect(after?.id).toBe(row?.id);
    expect(Number(after?.size)).toBe(19);
    expect(replaced.headers.get('etag')).toBe(`"${after?.content_hash}"`);
    expect((await req('GET', 'hello.txt')).text).toBe('hello again, longer');
    expect((await put('hello.txt', 'x', { 'if-none-match': '*' })).status).toBe(412);
    expect((await put('hello.txt', 'x', { 'if-match': '"0000"' })).status).toBe(412);
    expect((await put('hello.txt', 'third', { 'if-match': replaced.headers.get('etag') ?? '' })).status).toBe(204);
    expect((await put('fresh.txt', 'x', { 'if-match': '*' })).status).toBe(412);
    expect((await put('fresh.txt', 'x', { 'if-none-match': '*' })).status).toBe(201);
  });

  it('a Content-Type it cannot record (over the column\'s 255 characters) is stored as application/octet-stream, not refused with a database error', async () => {
    const created = await put('long-type.bin', 'x', { 'content-type': `x/${'y'.repeat(300)}` });
    expect(created.status).toBe(201);
    expect((await fileRow('long-type.bin'))?.mime_type).toBe('application/octet-stream');
  });

  it('stores the same content once (dedup with an uploadFile upload)', async () => {
    const bytes = Buffer.from('the same bytes twice '.repeat(1000));
    const uploaded = await uploadSmall(t.url, token, 'first.bin', bytes);
    const blobs = await blobCount();
    const res = await put('second.bin', bytes);
    expect(res.status).toBe(201);
    expect(res.headers.get('etag')).toBe(`"${uploaded.data?.uploadFile.contentHash}"`);
    expect(await blobCount()).toBe(blobs);
  });

  it('refuses names the drive refuses, a missing folder, and a folder', async () => {
    expect((await put('bad%00name', 'x')).status).toBe(400);
    expect((await put('nowhere/x.txt', 'x')).status).toBe(409);
    expect((await req('MKCOL', 'folder')).status).toBe(201);
    expect((await put('folder', 'x')).status).toBe(405);
    expect((await put('folder/inside.txt', 'x')).status).toBe(201);
  });

  it('over the quota: 507 and nothing kept (declared length at once; a chunked body as it crosses)', async () => {
    const used = await quotaUsed();
    const blobs = await blobCount();
    await db.query('update quotas set limit_bytes = ? where user_id = ?', [used + 1024 * 1024, userId]);
    try {
      const declared = await fetch(dav('big-declared.bin'), { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-length': String(2 * 1024 * 1024) }, body: Buffer.alloc(2 * 1024 * 1024) });
      expect(declared.status).toBe(507);
      const streamed = await put('big-chunked.bin', chunked(3 * 1024 * 1024));
      expect(streamed.status).toBe(507);
      const announced = await put('big-chunked.bin', chunked(3 * 1024 * 1024), { 'x-expected-entity-length': String(3 * 1024 * 1024) });
      expect(announced.status).toBe(507);
      expect(await quotaUsed()).toBe(used);
      expect(await blobCount()).toBe(blobs);
      expect(await fileRow('big-chunked.bin')).toBeUndefined();
      expect(await fileRow('big-declared.bin')).toBeUndefined();
    } finally {
      await db.query('update quotas set limit_bytes = ? where user_id = ?', [1024 ** 4, userId]);
    }
  });
});

const PROPPATCH = (body: string) => `<?xml version="1.0" encoding="utf-8"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:example:z">${body}</D:propertyupdate>`;
const PROPFIND_Z = '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><Z:color xmlns:Z="urn:example:z"/></D:prop></D:propfind>';

describe('PROPPATCH', () => {
  it('keeps dead properties across PROPFIND, COPY and MOVE; refuses live ones with 403 and the rest 424', async () => {
    expect((await put('props.txt', 'p')).status).toBe(201);
    const set = await req('PROPPATCH', 'props.txt', { 'content-type': 'application/xml' }, PROPPATCH('<D:set><D:prop><Z:color>blue <Z:b>deep</Z:b></Z:color><Z:gone>x</Z:gone></D:prop></D:set><D:remove><D:prop><Z:gone/></D:prop></D:remove>'));
    expect(set.status).toBe(207);
    expect(set.text).toContain('200 OK');
    const found = await req('PROPFIND', 'props.txt', { depth: '0' }, PROPFIND_Z);
    expect(found.text).toMatch(/<color xmlns="urn:example:z">blue <b xmlns="urn:example:z">deep<\/b><\/color>/);
    expect((await req('COPY', 'props.txt', { destination: dav('props-copy.txt') })).status).toBe(201);
    expect((await req('PROPFIND', 'props-copy.txt', { depth: '0' }, PROPFIND_Z)).text).toContain('deep');
    // A purge takes the properties with the file.
    const copyId = (await fileRow('props-copy.txt'))?.id ?? '';
    const propertyRows = async () => ((await db.query('select count(*) as n from file_properties where file_id = ?', [copyId]))[0] as { n: number }[])[0]?.n;
    expect(Number(await propertyRows())).toBe(1);
    expect((await req('DELETE', 'props-copy.txt')).status).toBe(204);
    expect((await gql(t.url, 'mutation($id: ID!) { purgeFile(id: $id) }', { id: copyId }, token)).data).toEqual({ purgeFile: true });
    expect(Number(await propertyRows())).toBe(0);
    const id = (await fileRow('props.txt'))?.id;
    expect((await req('MOVE', 'props.txt', { destination: dav('props-moved.txt') })).status).toBe(201);
    expect((await fileRow('props-moved.txt'))?.id).toBe(id);
    expect((await req('PROPFIND', 'props-moved.txt', { depth: '0' }, PROPFIND_Z)).text).toContain('deep');
    const live = await req('PROPPATCH', 'props-moved.txt', {}, PROPPATCH('<D:set><D:prop><D:getetag>x</D:getetag><Z:other>y</Z:other></D:prop></D:set>'));
    expect(live.status).toBe(207);
    expect(live.text).toContain('403 Forbidden');
    expect(live.text).toContain('424 Failed Dependency');
    expect((await req('PROPFIND', 'props-moved.txt', { depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop><Z:other xmlns:Z="urn:example:z"/></D:prop></D:propfind>')).text).toContain('404');
  });
});

const LOCKINFO = (scope: 'exclusive' | 'shared') =>
  `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>mailto:me@example.com</D:href></D:owner></D:lockinfo>`;
const tokenOf = (headers: Headers) => /<([^>]+)>/.exec(headers.get('lock-token') ?? '')?.[1] ?? '';

describe('LOCK and UNLOCK', () => {
  it('a locked file takes a PUT only with its token; UNLOCK frees it', async () => {
    expect((await put('locked.txt', 'v1')).status).toBe(201);
    const lock = await req('LOCK', 'locked.txt', { timeout: 'Second-600' }, LOCKINFO('exclusive'));
    expect(lock.status).toBe(200);
    const lockToken = tokenOf(lock.headers);
    expect(lockToken).toMatch(/^opaquelocktoken:/);
    expect(lock.text).toContain('<D:lockdiscovery><D:activelock>');
    expect((await put('locked.txt', 'v2')).status).toBe(423);
    expect((await req('DELETE', 'locked.txt')).status).toBe(423);
    expect((await put('locked.txt', 'v2', { if: `(<${lockToken}>)` })).status).toBe(204);
    expect((await put('locked.txt', 'v3', { if: '(["wrong-etag"])' })).status).toBe(412);
    const discovery = await req('PROPFIND', 'locked.txt', { depth: '0' }, '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>');
    expect(discovery.text).toContain(lockToken);
    expect((await req('UNLOCK', 'locked.txt', { 'lock-token': '<opaquelocktoken:nope>' })).status).toBe(409);
    expect((await req('UNLOCK', 'locked.txt', { 'lock-token': `<${lockToken}>` })).status).toBe(204);
    expect((await put('locked.txt', 'v4')).status).toBe(204);
  });

  it('a LOCK on an unmapped URL makes an empty file (201); PUT with the token fills it', async () => {
    const lock = await req('LOCK', 'new-locked.txt', {}, LOCKINFO('exclusive'));
    expect(lock.status).toBe(201);
    expect(Number((await fileRow('new-locked.txt'))?.size)).toBe(0);
    expect((await put('new-locked.txt', 'filled')).status).toBe(423);
    expect((await put('new-locked.txt', 'filled', { if: `(<${tokenOf(lock.headers)}>)` })).status).toBe(204);
    expect((await req('LOCK', 'missing-folder/x.txt', {}, LOCKINFO('exclusive'))).status).toBe(409);
  });

  it('shared locks share; an exclusive one conflicts (423); a folder lock of depth infinity covers new members', async () => {
    expect((await put('shared.txt', 's')).status).toBe(201);
    const a = await req('LOCK', 'shared.txt', {}, LOCKINFO('shared'));
    const b = await req('LOCK', 'shared.txt', {}, LOCKINFO('shared'));
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((await req('LOCK', 'shared.txt', {}, LOCKINFO('exclusive'))).status).toBe(423);
    expect((await put('shared.txt', 's2', { if: `(<${tokenOf(b.headers)}>)` })).status).toBe(204);
    expect((await req('MKCOL', 'lockdir')).status).toBe(201);
    const dir = await req('LOCK', 'lockdir/', { depth: 'infinity' }, LOCKINFO('exclusive'));
    expect(dir.status).toBe(200);
    expect((await put('lockdir/new.txt', 'n')).status).toBe(423);
    expect((await put('lockdir/new.txt', 'n', { if: `</dav/lockdir/> (<${tokenOf(dir.headers)}>)` })).status).toBe(201);
  });

  it('a depth-0 lock on a folder guards its members list: MKCOL, DELETE and MOVE in it need the token (§7.4)', async () => {
    expect((await req('MKCOL', 'guarded')).status).toBe(201);
    expect((await put('guarded/inner.txt', 'i')).status).toBe(201);
    const lock = await req('LOCK', 'guarded/', { depth: '0' }, LOCKINFO('exclusive'));
    expect(lock.status).toBe(200);
    const ifHeader = { if: `</dav/guarded/> (<${tokenOf(lock.headers)}>)` };
    expect((await put('guarded/inner.txt', 'changed')).status).toBe(204);
    expect((await req('MKCOL', 'guarded/sub')).status).toBe(423);
    expect((await req('DELETE', 'guarded/inner.txt')).status).toBe(423);
    expect((await req('MOVE', 'guarded/inner.txt', { destination: dav('outside.txt') })).status).toBe(423);
    expect((await req('MKCOL', 'guarded/sub', ifHeader)).status).toBe(201);
    expect((await req('DELETE', 'guarded/inner.txt', ifHeader)).status).toBe(204);
  });

  it('locks expire after their timeout; a refresh extends them', async () => {
    expect((await put('expiring.txt', 'e')).status).toBe(201);
    const lock = await req('LOCK', 'expiring.txt', { timeout: 'Second-2' }, LOCKINFO('exclusive'));
    const lockToken = tokenOf(lock.headers);
    await sleep(1200);
    const refreshed = await req('LOCK', 'expiring.txt', { timeout: 'Second-2', if: `(<${lockToken}>)` });
    expect(refreshed.status).toBe(200);
    expect(refreshed.text).toContain(lockToken);
    await sleep(1200);
    expect((await put('expiring.txt', 'e2')).status).toBe(423);
    await sleep(1200);
    expect((await put('expiring.txt', 'e3')).status).toBe(204);
    expect((await req('LOCK', 'expiring.txt', { if: `(<${lockToken}>)` })).status).toBe(412);
  });
});

/** Resident memory of a process now (kB → bytes), from /proc. */
function rssOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

describe('a 400 MiB PUT to a server process', () => {
  let server: ServerProcess;
  let inbox: Inbox;
  let procDb: TestDatabase;
  let session: string;

  beforeAll(async () => {
    procDb = await createMysqlDatabase('davbig');
    inbox = await startInbox();
    const routing = path.join(tempDir('stratus-davbig-'), 'storage.json');
    writeFileSync(routing, JSON.stringify({ default: 'ceph', backends: [cephBackend()] }));
    server = await startServerProcess({ DATABASE_URL: procDb.url ?? '', ...redisEnv(9), STORAGE_CONFIG: routing, JWT_SECRET: TEST_JWT_SECRET, SMTP_URL: inbox.url, DATA_DIR: tempDir() }, 60_000);
    const email = `davbig-${process.pid}-${Date.now()}@example.com`;
    await gql(server.url, 'mutation($e: String!) { requestEmailCode(email: $e) }', { e: email });
    const code = await inbox.codeFor(email);
    const reg = await gql<{ register: { accessToken: string } }>(server.url, 'mutation($i: RegisterInput!) { register(input: $i) { accessToken } }', {
      i: { username: `davbig${Date.now().toString(36)}`, email, password: 'a-good-password-1', code },
    });
    session = reg.data?.register.accessToken ?? '';
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await inbox?.close();
    await procDb?.drop();
  });

  it('streams the body into the backend in parts: the gateway\'s memory stays bounded', async () => {
    const size = 400 * 1024 * 1024;
    const pid = server.child.pid ?? 0;
    // Warm the path (first multipart upload, SDK clients) so the baseline includes it.
    await fetch(`${server.url}/dav/warm.bin`, { method: 'PUT', headers: { authorization: `Bearer ${session}` }, body: chunked(20 * 1024 * 1024, 1024 * 1024, 3), duplex: 'half' } as RequestInit);
    const before = rssOf(pid);
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
    try {
      const res = await fetch(`${server.url}/dav/big.bin`, { method: 'PUT', headers: { authorization: `Bearer ${session}` }, body: chunked(size, 1024 * 1024, 7), duplex: 'half' } as RequestInit);
      expect(res.status).toBe(201);
    } finally {
      clearInterval(timer);
    }
    const listed = await gql<{ folder: { children: { edges: { node: { name: string; size: number } }[] } } }>(server.url, '{ folder { children(first: 10) { edges { node { name size } } } } }', {}, session);
    expect(listed.data?.folder.children.edges.map((e) => e.node)).toContainEqual({ name: 'big.bin', size });
    // The writer holds the part being filled and PARTS_IN_FLIGHT parts travelling (8 MiB each); the
    // SDK may copy a part while signing it, and garbage is collected lazily: twice that plus 32 MiB
    // of slack is still a quarter of the 400 MiB body, and does not grow with it. (The first bound,
    // 64 MiB, was met alone but not beside the main suite: 78 MiB there.)
    const held = (PARTS_IN_FLIGHT + 1) * PART_SIZE;
    expect(peak - before).toBeLessThan(2 * held + 32 * 1024 * 1024);
  }, 240_000);
});
