/**
 * Upload sessions end to end on the real stack (MariaDB, Redis, Ceph RGW): a 300 MiB file in 8
 * parallel streams, progress over graphql-ws, instant upload with proof, Redis losing the
 * receipts mid-upload, pause/resume/cancel, the sweeper, and every kind of bad chunk.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { StratusApi, SESSION_FIELDS, type SessionView } from '../../cli/lib/api.ts';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { UploadSessionRow } from '../../internal/uploads/uploads.entities.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { heldPut, until } from '../support/chunks.ts';
import { testEnv } from '../support/env.ts';
import { hashDownload, makeFile } from '../support/files.ts';

const MiB = 1024 * 1024;
// A Redis database of its own: this file flushes it, and other test files share the server.
const REDIS_DB_URL = `${testEnv.redisUrl}/7`;

let t: TestApp;
let alice: StratusApi;
let bob: StratusApi;

beforeAll(async () => {
  t = await startTestApp({ env: { REDIS_URL: REDIS_DB_URL } });
  alice = new StratusApi(t.url, (await t.signUp()).token);
  bob = new StratusApi(t.url, (await t.signUp()).token);
});
afterAll(() => t?.close());

const create = (api: StratusApi, input: Record<string, unknown>) =>
  api.gql<{ createUpload: SessionView }>(`mutation($i: CreateUploadInput!) { createUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: input }).then((r) => r.createUpload);
const session = (api: StratusApi, id: string) => api.gql<{ upload: SessionView }>(`query($id: ID!) { upload(id: $id) { ${SESSION_FIELDS} } }`, { id }).then((r) => r.upload);
const mutate = (api: StratusApi, name: string, id: string) =>
  api.gql<Record<string, SessionView>>(`mutation($id: ID!) { ${name}(sessionId: $id) { ${SESSION_FIELDS} } }`, { id }).then((r) => r[name] as SessionView);

async function put(api: StratusApi, sid: string, index: number | string, body: Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${t.url}/upload/${sid}/${index}`, { method: 'PUT', headers: { ...api.headers(), ...headers }, body });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; details?: { reason?: string } }; uploadedChunkCount?: number; alreadyRecorded?: boolean } };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'no error',
    (e: { code?: string; details?: { reason?: string } }) => `${e.code}${e.details?.reason ? `:${e.details.reason}` : ''}`,
  );
}

const chunkOf = (file: string, index: number, chunkSize: number) => {
  const data = readFileSync(file);
  return data.subarray(index * chunkSize, (index + 1) * chunkSize);
};

describe('upload sessions', () => {
  it('uploads 300 MiB in 8 parallel streams and the downloaded bytes match', async () => {
    const file = await makeFile('big.bin', 300 * MiB);
    const result = await uploadFile(alice, file, { parallel: 8 });
    expect(result.session.status).toBe('COMPLETED');
    expect(result.chunksSent).toBe(38);
    const expected = await fileContentHash(file, 300 * MiB);
    expect(result.session.file?.contentHash).toBe(expected);
    const got = await hashDownload(`${t.url}/files/${result.session.file!.id}/content`, alice.headers());
    expect(got).toMatchObject({ status: 200, bytes: 300 * MiB, contentHash: expected });
  }, 240_000);

  it('streams progress in order over graphql-ws, ending with COMPLETED', async () => {
    const file = await makeFile('progress.bin', 40 * MiB);
    const hash = await fileContentHash(file, 40 * MiB);
    const s = await create(alice, { name: 'progress.bin', size: 40 * MiB, contentHash: hash });
    const events: { status: string; uploadedBytes: number; uploadedChunkCount: number }[] = [];
    const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${alice.token}` }, retryAttempts: 0 });
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe(
        { query: 'subscription($id: ID!) { uploadProgress(sessionId: $id) { sessionId status uploadedBytes size uploadedChunkCount chunkCount } }', variables: { id: s.id } },
        { next: (v) => events.push((v.data as { uploadProgress: (typeof events)[number] }).uploadProgress), error: reject, complete: resolve },
      );
    });
    await expect.poll(() => events.length).toBeGreaterThan(0);
    const result = await uploadFile(alice, file, { parallel: 2, noInstant: true });
    expect(result.resumed).toBe(true);
    await done;
    await client.dispose();
    expect(events[0]?.status).toBe('PENDING');
    expect(events.at(-1)).toMatchObject({ status: 'COMPLETED', uploadedBytes: 40 * MiB, uploadedChunkCount: 5 });
    const statuses = [...new Set(events.map((e) => e.status))];
    expect(statuses).toEqual(['PENDING', 'UPLOADING', 'COMPLETING', 'COMPLETED']);
    // Non-decreasing chunk counts, at least one event per recorded chunk.
    const chunkCounts = events.map((e) => e.uploadedChunkCount);
    expect(chunkCounts).toEqual([...chunkCounts].sort((a, b) => a - b));
    expect(events.filter((e) => e.status === 'UPLOADING').length).toBeGreaterThanOrEqual(5);
  }, 60_000);

  it("refuses a stranger's subscription to someone's upload", async () => {
    const s = await create(alice, { name: `sub-${randomBytes(3).toString('hex')}.bin`, size: 10 });
    const client = createClient({ url: `${t.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${bob.token}` }, retryAttempts: 0 });
    const outcome = await new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription($id: ID!) { uploadProgress(sessionId: $id) { status } }', variables: { id: s.id } }, { next: resolve, error: resolve, complete: () => resolve('complete') });
    });
    await client.dispose();
    expect(JSON.stringify(outcome)).toContain('NOT_FOUND');
  });

  it('instant upload: a second person with a correct proof gets the file with no bytes sent; a wrong proof just goes on', async () => {
    const file = await makeFile('shared.bin', 24 * MiB);
    const first = await uploadFile(alice, file, { parallel: 4 });
    const second = await uploadFile(bob, file);
    expect(second).toMatchObject({ instant: true, chunksSent: 0 });
    expect(second.session.status).toBe('COMPLETED');
    expect(second.session.file!.id).not.toBe(first.session.file!.id);
    const got = await hashDownload(`${t.url}/files/${second.session.file!.id}/content`, bob.headers());
    expect(got.contentHash).toBe(first.session.file!.contentHash);

    // Wrong proof, and a hash nobody has: the same answer, go on uploading.
    const carol = new StratusApi(t.url, (await t.signUp()).token);
    const known = await create(carol, { name: 'guess.bin', size: 24 * MiB, contentHash: first.session.file!.contentHash });
    const unknown = await create(carol, { name: 'other.bin', size: 24 * MiB, contentHash: 'f'.repeat(64) });
    expect(known.challenge?.ranges).toHaveLength(3);
    expect(unknown.challenge?.ranges).toHaveLength(3);
    const wrong = ['0'.repeat(64), '1'.repeat(64), '2'.repeat(64)];
    const prove = (id: string) => carol.gql<{ proveOwnership: SessionView }>('mutation($id: ID!, $p: [String!]!) { proveOwnership(sessionId: $id, proofs: $p) { status uploadedChunks file { id } } }', { id, p: wrong }).then((r) => r.proveOwnership);
    const [a, b] = [await prove(known.id), await prove(unknown.id)];
    expect(a).toEqual(b);
    expect(a).toEqual({ status: 'PENDING', uploadedChunks: [], file: null });
    for (let i = 0; i < 4; i++) await prove(known.id);
    expect(await failure(prove(known.id))).toBe('RATE_LIMITED:proof_attempts');
  }, 60_000);

  it('answers at once for a file the person already has in that folder', async () => {
    const file = await makeFile('again.bin', 5 * MiB);
    const first = await uploadFile(alice, file);
    const again = await create(alice, { name: 'again.bin', size: 5 * MiB, contentHash: first.session.file!.contentHash });
    expect(again.status).toBe('COMPLETED');
    expect(again.file?.id).toBe(first.session.file!.id);
    expect(await failure(create(alice, { name: 'again.bin', size: 5 * MiB, contentHash: 'e'.repeat(64) }))).toBe('CONFLICT:name_taken');
  });

  it('recovers the receipts from the backend after Redis is flushed, resending no stored chunk', async () => {
    const file = await makeFile('flush.bin', 40 * MiB);
    const hash = await fileContentHash(file, 40 * MiB);
    const s = await create(alice, { name: 'flush.bin', size: 40 * MiB, contentHash: hash });
    for (const index of [0, 2, 4]) expect((await put(alice, s.id, index, chunkOf(file, index, s.chunkSize))).status).toBe(200);
    const redis = new Redis(REDIS_DB_URL);
    await redis.flushdb();
    await redis.quit();
    expect((await session(alice, s.id)).uploadedChunks).toEqual([0, 2, 4]);
    const result = await uploadFile(alice, file, { noInstant: true });
    expect(result).toMatchObject({ resumed: true, chunksSent: 2 });
    expect(result.session.status).toBe('COMPLETED');
    expect((await hashDownload(`${t.url}/files/${result.session.file!.id}/content`, alice.headers())).contentHash).toBe(hash);
  }, 60_000);

  it('pauses (chunks refused), resumes (missing chunks listed), cancels (backend multipart aborted, row gone)', async () => {
    const file = await makeFile('pause.bin', 20 * MiB);
    const s = await create(alice, { name: 'pause.bin', size: 20 * MiB });
    await put(alice, s.id, 1, chunkOf(file, 1, s.chunkSize));
    expect((await mutate(alice, 'pauseUpload', s.id)).status).toBe('PAUSED');
    const refused = await put(alice, s.id, 0, chunkOf(file, 0, s.chunkSize));
    expect([refused.status, refused.body.error?.details?.reason]).toEqual([409, 'session_paused']);
    const resumed = await mutate(alice, 'resumeUpload', s.id);
    expect(resumed).toMatchObject({ status: 'UPLOADING', uploadedChunks: [1], missingChunks: [0, 2] });
    const row = await t.app.runtime.orm.em.fork().findOneOrFail(UploadSessionRow, { id: s.id });
    expect(await alice.gql<{ cancelUpload: boolean }>('mutation($id: ID!) { cancelUpload(sessionId: $id) }', { id: s.id })).toEqual({ cancelUpload: true });
    expect(await failure(t.app.runtime.storage.store(row.backend).listParts(row.storageKey, row.multipartId))).toBe('NOT_FOUND');
    expect(await t.app.runtime.orm.em.fork().count(UploadSessionRow, { id: s.id })).toBe(0);
    expect((await put(alice, s.id, 0, chunkOf(file, 0, s.chunkSize))).status).toBe(404);
    expect(await failure(session(alice, s.id))).toBe('NOT_FOUND');
  });

  it('expires idle sessions with the sweeper and aborts their multipart uploads', async () => {
    const s = await create(alice, { name: 'idle.bin', size: 9 * MiB });
    await t.app.runtime.orm.em.fork().nativeUpdate(UploadSessionRow, { id: s.id }, { expiresAt: new Date(Date.now() - 1000) });
    expect((await session(alice, s.id)).status).toBe('EXPIRED');
    const put0 = await put(alice, s.id, 1, Buffer.alloc(MiB));
    expect([put0.status, put0.body.error?.details?.reason]).toEqual([409, 'session_expired']);
    const row = await t.app.runtime.orm.em.fork().findOneOrFail(UploadSessionRow, { id: s.id });
    // The running app's sweeper works every minute; one pass now.
    expect(await t.app.uploads.sweeper.sweep()).toBeGreaterThanOrEqual(1);
    expect((await t.app.runtime.orm.em.fork().findOneOrFail(UploadSessionRow, { id: s.id })).status).toBe('EXPIRED');
    expect(await failure(t.app.runtime.storage.store(row.backend).listParts(row.storageKey, row.multipartId))).toBe('NOT_FOUND');
  });
});

describe('bad input to upload sessions', () => {
  let file: string;
  let s: SessionView;
  beforeAll(async () => {
    file = await makeFile('bad.bin', 20 * MiB);
    s = await create(alice, { name: 'bad.bin', size: 20 * MiB, contentHash: await fileContentHash(file, 20 * MiB) });
  });

  it('refuses bad session parameters with stable codes', async () => {
    expect(await failure(create(alice, { name: 'zero.bin', size: 0 }))).toBe('BAD_INPUT:size_invalid');
    expect(await failure(create(alice, { name: 'huge.bin', size: 11 * 1024 ** 3 }))).toBe('QUOTA_EXCEEDED');
    expect(await failure(create(alice, { name: 'enormous.bin', size: 6 * 1024 ** 4 }))).toBe('PAYLOAD_TOO_LARGE:size_above_backend_limit');
    expect(await failure(create(alice, { name: 'h.bin', size: 10, contentHash: 'XYZ' }))).toBe('BAD_INPUT');
    expect(await failure(create(alice, { name: 'c.bin', size: 10, chunkSize: 5 * MiB }))).toBe('BAD_INPUT:chunk_size_invalid');
    expect(await failure(create(alice, { name: '..', size: 10 }))).toBe('BAD_INPUT:name_only_dots');
    // A 4 MiB chunk on an S3 backend (5 MiB minimum part) is raised to 8 MiB.
    expect((await create(alice, { name: 'small-chunks.bin', size: 20 * MiB, chunkSize: 4 * MiB })).chunkSize).toBe(8 * MiB);
  });

  it('refuses bad chunks and records nothing', async () => {
    const c0 = chunkOf(file, 0, s.chunkSize);
    const expectRefused = async (r: Promise<{ status: number; body: { error?: { code: string; details?: { reason?: string } } } }>, status: number, reason: string) => {
      const { status: got, body } = await r;
      expect([got, body.error?.details?.reason]).toEqual([status, reason]);
    };
    await expectRefused(put(alice, s.id, 3, c0), 400, 'index_out_of_range');
    await expectRefused(put(alice, s.id, -1, c0), 400, 'index_out_of_range');
    await expectRefused(put(alice, s.id, 'x', c0), 400, 'index_out_of_range');
    await expectRefused(put(alice, s.id, 0, c0.subarray(1)), 400, 'chunk_length');
    const wrongDigest = `sha-256=:${createHash('sha256').update('other').digest('base64')}:`;
    await expectRefused(put(alice, s.id, 0, c0, { 'content-digest': wrongDigest }), 400, 'digest_mismatch');
    await expectRefused(put(alice, s.id, 0, c0, { 'content-digest': 'sha-256=:nope:' }), 400, 'digest_malformed');
    expect((await session(alice, s.id)).uploadedChunks).toEqual([]);
    const stranger = await put(bob, s.id, 0, c0);
    expect(stranger.status).toBe(404);
    expect((await fetch(`${t.url}/upload/${s.id}/0`, { method: 'PUT', body: c0 })).status).toBe(401);
  });

  it('refuses completion with chunks missing, and chunks that do not add up to the declared hash, keeping the session usable', async () => {
    expect(await failure(mutate(alice, 'completeUpload', s.id))).toBe('BAD_INPUT:chunks_missing');
    const right = (i: number) => chunkOf(file, i, s.chunkSize);
    const good = `sha-256=:${createHash('sha256').update(right(0)).digest('base64')}:`;
    expect((await put(alice, s.id, 0, right(0), { 'content-digest': good })).status).toBe(200);
    expect((await put(alice, s.id, 1, Buffer.alloc(right(1).length, 9))).status).toBe(200);
    expect((await put(alice, s.id, 2, right(2))).status).toBe(200);
    // Resending a recorded chunk is harmless.
    expect((await put(alice, s.id, 2, right(2))).body.alreadyRecorded).toBe(true);
    expect(await failure(mutate(alice, 'completeUpload', s.id))).toBe('BAD_INPUT:content_hash_mismatch');
    expect((await session(alice, s.id)).status).toBe('UPLOADING');
  });

  it('a second upload of the same chunk while the first streams is refused (409 chunk_in_progress), never corrupting', async () => {
    const file2 = await makeFile('race.bin', 16 * MiB);
    const s2 = await create(alice, { name: 'race.bin', size: 16 * MiB, contentHash: await fileContentHash(file2, 16 * MiB) });
    const c = chunkOf(file2, 0, s2.chunkSize);
    // The first PUT holds its body after one byte: the session leaves PENDING once it has the lock.
    const first = heldPut(t.url, alice.token!, s2.id, 0, c);
    await until(async () => (await session(alice, s2.id)).status === 'UPLOADING', 'the first PUT to take the chunk lock');
    const second = await put(alice, s2.id, 0, c);
    expect([second.status, second.body.error?.details?.reason]).toEqual([409, 'chunk_in_progress']);
    expect((await first.finish()).status).toBe(200);
    // The lock went with the first request: the same bytes again are accepted and change nothing.
    expect((await put(alice, s2.id, 0, c)).body.alreadyRecorded).toBe(true);
    await put(alice, s2.id, 1, chunkOf(file2, 1, s2.chunkSize));
    expect((await mutate(alice, 'completeUpload', s2.id)).status).toBe('COMPLETED');
    expect(await failure(mutate(alice, 'pauseUpload', s2.id))).toBe('CONFLICT:session_completed');
    expect((await put(alice, s2.id, 0, c)).body.error?.details?.reason).toBe('session_completed');
  });
});
