import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockHasher } from '../files/content-hash.ts';
import { AppError } from '../platform/errors.ts';
import { LocalObjectStore } from '../storage/local/local.store.ts';
import type { ObjectStore } from '../storage/index.ts';
import { PART_SIZE, writeMultipartStream } from './multipart-stream.writer.ts';

const MiB = 1024 * 1024;
let root: string;
let store: LocalObjectStore;

/** Counts the store's calls (which way the bytes went). */
function counting(inner: ObjectStore) {
  const calls = { put: 0, createMultipart: 0, uploadPart: 0, complete: 0, abort: 0 };
  const wrapped: ObjectStore = Object.assign(Object.create(inner) as ObjectStore, {
    put: (...a: Parameters<ObjectStore['put']>) => (calls.put++, inner.put(...a)),
    createMultipart: (...a: Parameters<ObjectStore['createMultipart']>) => (calls.createMultipart++, inner.createMultipart(...a)),
    uploadPart: (...a: Parameters<ObjectStore['uploadPart']>) => (calls.uploadPart++, inner.uploadPart(...a)),
    completeMultipart: (...a: Parameters<ObjectStore['completeMultipart']>) => (calls.complete++, inner.completeMultipart(...a)),
    abortMultipart: (...a: Parameters<ObjectStore['abortMultipart']>) => (calls.abort++, inner.abortMultipart(...a)),
  });
  return { wrapped, calls };
}

function body(size: number, piece = 256 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < size; at += piece) out.push(Buffer.alloc(Math.min(piece, size - at), at / piece));
  return out;
}

async function hashOf(chunks: Buffer[]): Promise<string> {
  const hasher = new BlockHasher();
  await new Promise<void>((resolve, reject) => Readable.from(chunks).pipe(hasher).on('finish', resolve).on('error', reject).resume());
  return hasher.contentHash();
}

const overQuota = () => new AppError('QUOTA_EXCEEDED', 'over');

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'stratus-mps-'));
  store = new LocalObjectStore({ name: 'local', root });
});
afterEach(async () => {
  await store.close();
  await rm(root, { recursive: true, force: true });
});

describe('writeMultipartStream', () => {
  it('stores a body under one part with one PUT (the empty body too)', async () => {
    for (const size of [0, 1000]) {
      const { wrapped, calls } = counting(store);
      const chunks = body(size);
      const written = await writeMultipartStream(Readable.from(chunks), { backend: { name: 'local', store: wrapped }, length: size, limit: size, onLimit: overQuota, contentType: 'x/y' });
      expect(calls).toMatchObject({ put: 1, createMultipart: 0 });
      expect(written).toMatchObject({ size, contentHash: await hashOf(chunks) });
      expect((await store.head(written.storageKey))?.size).toBe(size);
    }
  });

  it('sends a larger body in parts (chunked: no length) and completes it, hashed on the way', async () => {
    const size = 2 * PART_SIZE + 3 * MiB;
    const { wrapped, calls } = counting(store);
    const chunks = body(size);
    const written = await writeMultipartStream(Readable.from(chunks), { backend: { name: 'local', store: wrapped }, length: null, limit: size, onLimit: overQuota, contentType: 'x/y' });
    expect(calls).toMatchObject({ put: 0, createMultipart: 1, uploadPart: 3, complete: 1, abort: 0 });
    expect(written).toMatchObject({ size, contentHash: await hashOf(chunks) });
    expect((await store.head(written.storageKey))?.size).toBe(size);
  });

  it('a body that crosses the limit: the limit error, the multipart upload aborted, nothing kept', async () => {
    const { wrapped, calls } = counting(store);
    const failure = await writeMultipartStream(Readable.from(body(3 * PART_SIZE)), { backend: { name: 'local', store: wrapped }, length: null, limit: 2 * PART_SIZE + 1, onLimit: overQuota, contentType: 'x/y' }).catch((e: unknown) => e);
    expect(AppError.is(failure, 'QUOTA_EXCEEDED')).toBe(true);
    expect(calls.abort).toBe(1);
    expect(calls.complete).toBe(0);
    expect(await store.listMultipartUploads()).toEqual([]);
  });

  it('a body shorter than its declared length: BAD_INPUT size_invalid, nothing kept', async () => {
    const failure = await writeMultipartStream(Readable.from(body(1000)), { backend: { name: 'local', store }, length: 2000, limit: 5000, onLimit: overQuota, contentType: 'x/y' }).catch((e: unknown) => e);
    expect(AppError.is(failure, 'BAD_INPUT') && failure.details?.reason).toBe('size_invalid');
    expect(await store.listMultipartUploads()).toEqual([]);
  });
});
