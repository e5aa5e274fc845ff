/**
 * The uploads service through a tRPC caller on the embedded stack (SQLite, in-memory KV, local
 * disk; no service needed): a session's life from create to COMPLETED, the per-chunk lock, pause,
 * resume and cancel, and the stable refusals. Only public entry points (createUploads, its router,
 * writeChunk), so the tests outlive a rearrangement of the service's files.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runWithContext, type Viewer } from '../platform/request-context.ts';
import { localClient } from '../platform/rpc/client.ts';
import { createCallerFactory } from '../platform/rpc/trpc.ts';
import { callerAs, failureOf } from '../../test/support/embedded.ts';
import { embeddedUploads, silentLog } from '../../test/support/embedded-uploads.ts';
import { writeChunk } from './index.ts';

const MiB = 1024 * 1024;
/** The content hash, computed here without Stratus: SHA-256 over the 4 MiB blocks' SHA-256s. */
const contentHash = (data: Buffer) => {
  const outer = createHash('sha256');
  for (let at = 0; at === 0 || at < data.length; at += 4 * MiB) outer.update(createHash('sha256').update(data.subarray(at, at + 4 * MiB)).digest());
  return outer.digest('hex');
};

const { stack, person } = embeddedUploads();

/** One chunk through the gateway's byte path (writeChunk), as the viewer. */
function sendChunk(viewer: Viewer, sessionId: string, index: number, bytes: Buffer) {
  return runWithContext({ requestId: 't', viewer }, () =>
    writeChunk({ uploads: localClient(stack.uploads.router, silentLog) }, stack.t.runtime.storage, { sessionId, index, body: Readable.from([bytes]), length: bytes.length, digest: null }),
  );
}

const failure = failureOf;

describe('uploads router on the embedded stack', () => {
  it('takes a session from PENDING through UPLOADING to COMPLETED, and the file holds the bytes', async () => {
    const { viewer, up, files: drive } = await person();
    const data = Buffer.concat([Buffer.alloc(4 * MiB, 1), Buffer.from('tail of the file')]);
    const s = await up.create({ parentId: null, name: 'two-chunks.bin', size: data.length, chunkSize: 4 * MiB });
    expect(s).toMatchObject({ status: 'PENDING', chunkSize: 4 * MiB, chunkCount: 2, uploadedChunks: [], missingChunks: [0, 1], uploadedBytes: 0 });
    expect(await up.reserved()).toEqual({ bytes: data.length });
    expect(await failure(up.complete({ id: s.id }))).toBe('BAD_INPUT:chunks_missing');

    const first = await sendChunk(viewer, s.id, 0, data.subarray(0, 4 * MiB));
    expect(first).toMatchObject({ index: 0, alreadyRecorded: false, uploadedChunkCount: 1 });
    expect(await up.get({ id: s.id })).toMatchObject({ status: 'UPLOADING', uploadedChunks: [0], missingChunks: [1], uploadedBytes: 4 * MiB });
    await sendChunk(viewer, s.id, 1, data.subarray(4 * MiB));
    // The same bytes again change nothing.
    expect(await sendChunk(viewer, s.id, 1, data.subarray(4 * MiB))).toMatchObject({ alreadyRecorded: true });

    const done = await up.complete({ id: s.id });
    expect(done).toMatchObject({ status: 'COMPLETED', uploadedChunks: [0, 1], missingChunks: [] });
    expect(await drive.get({ id: done.fileId! })).toMatchObject({ name: 'two-chunks.bin', size: data.length, contentHash: contentHash(data) });
    expect(await up.reserved()).toEqual({ bytes: 0 });
    expect(await failure(up.pause({ id: s.id }))).toBe('CONFLICT:session_completed');
    expect(await failure(up.cancel({ id: s.id }))).toBe('CONFLICT:session_completed');
    expect(await failure(sendChunk(viewer, s.id, 0, data.subarray(0, 4 * MiB)))).toBe('CONFLICT:session_completed');
  });

  it('holds one lock per chunk: a second begin of the same index is CONFLICT chunk_in_progress until the first ends', async () => {
    const { viewer, up } = await person();
    const s = await up.create({ parentId: null, name: 'locked.bin', size: 5 });
    const slot = await up.beginChunk({ sessionId: s.id, index: 0, length: 5 });
    if (slot.alreadyRecorded) throw new Error('a fresh session has no chunk recorded');
    expect(await failure(up.beginChunk({ sessionId: s.id, index: 0, length: 5 }))).toBe('CONFLICT:chunk_in_progress');
    expect(await failure(sendChunk(viewer, s.id, 0, Buffer.from('hello')))).toBe('CONFLICT:chunk_in_progress');
    await up.abortChunk({ sessionId: s.id, index: 0, lockToken: slot.lockToken, streamed: 0 });
    await sendChunk(viewer, s.id, 0, Buffer.from('hello'));
    // A resend of a recorded chunk holds the lock too, and completion waits for it.
    const resend = await up.beginChunk({ sessionId: s.id, index: 0, length: 5 });
    if (resend.alreadyRecorded) throw new Error('parts are assembled only by completion');
    expect(await failure(up.complete({ id: s.id }))).toBe('CONFLICT:chunk_in_progress');
    // A receipt with a stale lock token is not recorded.
    expect(await failure(up.recordChunk({ sessionId: s.id, index: 0, lockToken: slot.lockToken, etag: 'x', size: 5, digests: ['0'.repeat(64)], streamed: 0 }))).toBe(
      'CONFLICT:chunk_lock_lost',
    );
    await up.abortChunk({ sessionId: s.id, index: 0, lockToken: resend.lockToken, streamed: 0 });
    expect(await up.complete({ id: s.id })).toMatchObject({ status: 'COMPLETED' });
  });

  it('pauses, refuses chunks while paused, resumes, and cancels leaving nothing reserved', async () => {
    const { viewer, up } = await person();
    const s = await up.create({ parentId: null, name: 'paused.bin', size: 5 });
    expect(await up.pause({ id: s.id })).toMatchObject({ status: 'PAUSED' });
    expect(await failure(sendChunk(viewer, s.id, 0, Buffer.from('hello')))).toBe('CONFLICT:session_paused');
    expect(await up.resume({ id: s.id })).toMatchObject({ status: 'UPLOADING', missingChunks: [0] });
    expect((await up.list()).map((x) => x.id)).toContain(s.id);
    expect(await up.cancel({ id: s.id })).toBe(true);
    expect(await failure(up.get({ id: s.id }))).toBe('NOT_FOUND');
    expect(await up.reserved()).toEqual({ bytes: 0 });
  });

  it('refuses bad chunks, bad sessions and strangers with stable codes and reasons', async () => {
    const { viewer, up } = await person();
    const other = await person();
    const s = await up.create({ parentId: null, name: 'strict.bin', size: 5, contentHash: contentHash(Buffer.from('hello')) });
    expect(s.challenge?.ranges.length).toBeGreaterThan(0);
    expect(await failure(up.beginChunk({ sessionId: s.id, index: 1, length: 5 }))).toBe('BAD_INPUT:index_out_of_range');
    expect(await failure(up.beginChunk({ sessionId: s.id, index: 0, length: 4 }))).toBe('BAD_INPUT:chunk_length');
    expect(await failure(other.up.get({ id: s.id }))).toBe('NOT_FOUND');
    expect(await failure(other.up.beginChunk({ sessionId: s.id, index: 0, length: 5 }))).toBe('NOT_FOUND');
    expect(await failure(callerAs(createCallerFactory(stack.uploads.router), undefined).list())).toBe('UNAUTHENTICATED');
    expect(await failure(up.create({ parentId: null, name: 'empty.bin', size: 0 }))).toBe('BAD_INPUT:size_invalid');
    expect(await failure(up.create({ parentId: null, name: 'odd.bin', size: 10, chunkSize: 1000 }))).toBe('BAD_INPUT:chunk_size_invalid');
    expect(await failure(up.create({ parentId: null, name: 'strict.bin', size: 5 }))).toBe('no error');
    // Bytes that do not add up to the declared hash: refused, the session stays usable.
    await sendChunk(viewer, s.id, 0, Buffer.from('HELLO'));
    expect(await failure(up.complete({ id: s.id }))).toBe('BAD_INPUT:content_hash_mismatch');
    expect(await up.get({ id: s.id })).toMatchObject({ status: 'UPLOADING' });
    await sendChunk(viewer, s.id, 0, Buffer.from('hello'));
    expect(await up.complete({ id: s.id })).toMatchObject({ status: 'COMPLETED' });
    expect(await failure(up.create({ parentId: null, name: 'strict.bin', size: 6 }))).toBe('CONFLICT:name_taken');
  });
});
