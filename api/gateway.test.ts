/**
 * The gateway over HTTP on the embedded stack (SQLite, in-memory KV/queue, local disk: no service
 * needed): GraphQL over HTTP, chunk PUTs with the per-chunk lock, downloads (whole, ranges, signed
 * links, shares) and errors mapped to their status and stable code once at the boundary.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heldPut, until } from '../test/support/chunks.ts';
import { startEmbeddedApp, type EmbeddedApp } from '../test/support/embedded.ts';
import { errorCode, gql } from '../test/support/graphql.ts';

let t: EmbeddedApp;
let alice: { token: string; userId: string };
let bob: { token: string; userId: string };

beforeAll(async () => {
  t = await startEmbeddedApp();
  alice = await t.signUp();
  bob = await t.signUp();
});
afterAll(() => t?.close());

const SESSION = 'id status chunkCount uploadedChunks missingChunks file { id size contentHash }';
interface Session { id: string; status: string; chunkCount: number; uploadedChunks: number[]; missingChunks: number[]; file: { id: string; size: number; contentHash: string } | null }
interface RestAnswer { status: number; headers: Headers; body: { error?: { code: string; details?: { reason?: string } }; uploadedChunkCount?: number; alreadyRecorded?: boolean } }

async function createUpload(token: string, name: string, size: number): Promise<Session> {
  const res = await gql<{ createUpload: Session }>(t.url, `mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION} } }`, { i: { name, size } }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.createUpload;
}

async function put(token: string | null, sid: string, index: number | string, body: Buffer, headers: Record<string, string> = {}): Promise<RestAnswer> {
  const res = await fetch(`${t.url}/upload/${sid}/${index}`, { method: 'PUT', headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers }, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as RestAnswer['body'] };
}

async function completeUpload(token: string, sid: string): Promise<Session> {
  const res = await gql<{ completeUpload: Session }>(t.url, `mutation($id: ID!) { completeUpload(sessionId: $id) { ${SESSION} } }`, { id: sid }, token);
  if (!res.data) throw new Error(JSON.stringify(res.errors));
  return res.data.completeUpload;
}

describe('GraphQL over HTTP', () => {
  it('answers a signed-in person, and maps refusals to their codes', async () => {
    const me = await gql<{ me: { id: string } }>(t.url, '{ me { id } }', {}, alice.token);
    expect(me).toMatchObject({ status: 200, data: { me: { id: alice.userId } } });
    const forged = await gql(t.url, '{ me { id } }', {}, `${alice.token.slice(0, -4)}AAAA`);
    expect([forged.status, errorCode(forged)]).toEqual([401, 'UNAUTHENTICATED']);
    expect(errorCode(await gql(t.url, '{ me { id } }'))).toBe('UNAUTHENTICATED');
    expect(errorCode(await gql(t.url, '{ me { id '))).toBe('BAD_INPUT');
    const folder = await gql<{ createFolder: { id: string } }>(t.url, 'mutation { createFolder(name: "Docs") { id } }', {}, alice.token);
    expect(folder.data?.createFolder.id).toMatch(/^[0-9a-f-]{36}$/);
    const twice = await gql(t.url, 'mutation { createFolder(name: "docs") { id } }', {}, alice.token);
    expect([errorCode(twice), twice.errors?.[0]?.extensions?.details?.reason]).toEqual(['CONFLICT', 'name_taken']);
  });
});

describe('chunk PUT', () => {
  it('records a chunk, refuses bad ones with stable codes, and the session completes', async () => {
    const bytes = Buffer.from('hello, gateway');
    const s = await createUpload(alice.token, 'put.txt', bytes.length);
    const noAuth = await put(null, s.id, 0, bytes);
    expect([noAuth.status, noAuth.body.error?.code, noAuth.headers.get('www-authenticate')]).toEqual([401, 'UNAUTHENTICATED', 'Bearer']);
    expect((await put(bob.token, s.id, 0, bytes)).status).toBe(404);
    const short = await put(alice.token, s.id, 0, bytes.subarray(1));
    expect([short.status, short.body.error?.details?.reason]).toEqual([400, 'chunk_length']);
    const outside = await put(alice.token, s.id, 1, bytes);
    expect([outside.status, outside.body.error?.details?.reason]).toEqual([400, 'index_out_of_range']);
    const wrongDigest = await put(alice.token, s.id, 0, bytes, { 'content-digest': `sha-256=:${createHash('sha256').update('other').digest('base64')}:` });
    expect([wrongDigest.status, wrongDigest.body.error?.details?.reason]).toEqual([400, 'digest_mismatch']);
    const ok = await put(alice.token, s.id, 0, bytes, { 'content-digest': `sha-256=:${createHash('sha256').update(bytes).digest('base64')}:` });
    expect([ok.status, ok.body.uploadedChunkCount, ok.body.alreadyRecorded]).toEqual([200, 1, false]);
    const done = await completeUpload(alice.token, s.id);
    expect(done).toMatchObject({ status: 'COMPLETED', file: { size: bytes.length } });
  });

  it('lets one request at a time send a chunk: a second PUT of it is 409 chunk_in_progress with Retry-After', async () => {
    const bytes = Buffer.alloc(64 * 1024, 5);
    const s = await createUpload(alice.token, 'race.bin', bytes.length);
    const first = heldPut(t.url, alice.token, s.id, 0, bytes);
    // The session leaves PENDING only once the first request holds the chunk's lock.
    const status = async () => (await gql<{ upload: { status: string } }>(t.url, 'query($id: ID!) { upload(id: $id) { status } }', { id: s.id }, alice.token)).data?.upload.status;
    await until(async () => (await status()) === 'UPLOADING', 'the first PUT to take the lock');
    const second = await put(alice.token, s.id, 0, bytes);
    expect([second.status, second.body.error?.code, second.body.error?.details?.reason, second.headers.get('retry-after')]).toEqual([409, 'CONFLICT', 'chunk_in_progress', '1']);
    expect((await first.finish()).status).toBe(200);
    // The lock is free again: the same bytes once more change nothing.
    expect((await put(alice.token, s.id, 0, bytes)).body.alreadyRecorded).toBe(true);
    expect((await completeUpload(alice.token, s.id)).status).toBe('COMPLETED');
  });
});

describe('downloads', () => {
  let fileId: string;
  const bytes = Buffer.from('0123456789abcdef');

  beforeAll(async () => {
    const s = await createUpload(alice.token, 'digits.txt', bytes.length);
    await put(alice.token, s.id, 0, bytes);
    fileId = (await completeUpload(alice.token, s.id)).file!.id;
  });

  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${t.url}${path}`, { headers });

  it('serves the owner the whole file and byte ranges; a stranger or no one gets 404/401', async () => {
    const whole = await get(`/files/${fileId}/content`, { authorization: `Bearer ${alice.token}` });
    expect([whole.status, Buffer.from(await whole.arrayBuffer()).toString()]).toEqual([200, bytes.toString()]);
    const range = await get(`/files/${fileId}/content`, { authorization: `Bearer ${alice.token}`, range: 'bytes=2-5' });
    expect([range.status, range.headers.get('content-range'), await range.text()]).toEqual([206, `bytes 2-5/${bytes.length}`, '2345']);
    const stranger = await get(`/files/${fileId}/content`, { authorization: `Bearer ${bob.token}` });
    expect([stranger.status, ((await stranger.json()) as RestAnswer['body']).error?.code]).toEqual([404, 'NOT_FOUND']);
    expect((await get(`/files/${fileId}/content`)).status).toBe(401);
  });

  it('serves a signed download link without a token, and a share link to anyone', async () => {
    const link = await gql<{ createDownloadLink: { url: string } }>(t.url, 'mutation($id: ID!) { createDownloadLink(id: $id) { url } }', { id: fileId }, alice.token);
    const url = new URL(link.data!.createDownloadLink.url);
    expect(await (await get(`${url.pathname}${url.search}`)).text()).toBe(bytes.toString());
    const sig = url.searchParams.get('sig')!;
    url.searchParams.set('sig', `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`);
    const tampered = await get(`${url.pathname}${url.search}`);
    expect([tampered.status, ((await tampered.json()) as RestAnswer['body']).error?.details?.reason]).toEqual([404, 'download_link_invalid']);
    const share = await gql<{ createShare: { token: string } }>(t.url, 'mutation($i: CreateShareInput!) { createShare(input: $i) { token } }', { i: { fileId } }, alice.token);
    const opened = await get(`/s/${share.data!.createShare.token}`);
    expect([opened.status, await opened.text()]).toEqual([200, bytes.toString()]);
    expect((await get('/s/no-such-token')).status).toBe(404);
  });
});
