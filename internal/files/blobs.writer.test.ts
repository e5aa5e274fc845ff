/**
 * BlobWriter's memory budget: a small body is held in memory and PUT from there (no temp file at
 * the time of the PUT), a body over the per-body maximum or over what the process budget has left
 * is spooled to disk; both are stored byte for byte with the same content hash, and the budget is
 * given back whatever happens (limit hit, store failure).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.ts';
import { LocalObjectStore } from '../storage/local/local.store.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { appErrorOf, bodyOf, collect, pseudoRandom } from '../storage/test-bytes.ts';
import { BlobWriter } from './blobs.writer.ts';
import { ByteBudget } from './body-sink.ts';
import { BlockHasher } from './content-hash.ts';

const KiB = 1024;
const BODY_MAX = 512 * KiB;
const roots: string[] = [];

afterAll(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function hashOf(data: Buffer): Promise<string> {
  const hasher = new BlockHasher();
  await pipeline(bodyOf(data), hasher, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) void chunk;
  });
  return hasher.contentHash();
}

/** A writer over a local store whose PUTs note whether a spooled body sat in the temp dir then. */
async function setup(budgetBytes: number, failPut = false) {
  const root = await mkdtemp(path.join(tmpdir(), 'stratus-blob-writer-'));
  roots.push(root);
  const tmpDir = path.join(root, 'spool');
  const local = new LocalObjectStore({ name: 'local-test', root: path.join(root, 'store') });
  const spooledAtPut: boolean[] = [];
  const store: ObjectStore = Object.assign(Object.create(local) as ObjectStore, {
    put: async (key: string, body: Readable, size: number) => {
      spooledAtPut.push((await readdir(tmpDir).catch(() => [] as string[])).some((n) => n.startsWith('upload-')));
      if (failPut) {
        body.destroy();
        throw new Error('store down');
      }
      return local.put(key, body, size);
    },
  });
  const budget = new ByteBudget(budgetBytes);
  const writer = new BlobWriter({ tmpDir, defaultBackend: () => ({ name: 'local-test', store }), memory: { bodyMax: BODY_MAX, budget } });
  const leftInSpool = async () => (await readdir(tmpDir).catch(() => [] as string[])).filter((n) => n.startsWith('upload-'));
  return { writer, local, budget, spooledAtPut, leftInSpool };
}

const tooLarge = () => new AppError('PAYLOAD_TOO_LARGE', 'too large');

describe('BlobWriter memory budget', () => {
  let small: Buffer;
  beforeEach(() => {
    small = pseudoRandom('small', 300 * KiB);
  });

  it('holds a small body in memory and stores it byte for byte', async () => {
    const { writer, local, budget, spooledAtPut, leftInSpool } = await setup(1024 * KiB);
    const written = await writer.write(bodyOf(small), 10 * 1024 * KiB, tooLarge);
    expect(spooledAtPut).toEqual([false]);
    expect(written.size).toBe(small.length);
    expect(written.contentHash).toBe(await hashOf(small));
    expect((await collect((await local.get(written.storageKey)).body)).equals(small)).toBe(true);
    expect(budget.inUse).toBe(0);
    expect(await leftInSpool()).toEqual([]);
  });

  it('spools a body over the per-body maximum, stored the same way', async () => {
    const big = pseudoRandom('big', BODY_MAX + 100 * KiB);
    const { writer, local, budget, spooledAtPut, leftInSpool } = await setup(4096 * KiB);
    const written = await writer.write(bodyOf(big), 10 * 1024 * KiB, tooLarge);
    expect(spooledAtPut).toEqual([true]);
    expect(written.contentHash).toBe(await hashOf(big));
    expect((await collect((await local.get(written.storageKey)).body)).equals(big)).toBe(true);
    expect(budget.inUse).toBe(0);
    expect(await leftInSpool()).toEqual([]);
  });

  it('spools a small body when the process budget is spent, and memory is used again once it is back', async () => {
    const { writer, local, budget, spooledAtPut } = await setup(1024 * KiB);
    // Other bodies hold all but 100 KiB of the budget.
    expect(budget.take(924 * KiB)).toBe(true);
    const spooled = await writer.write(bodyOf(small), 10 * 1024 * KiB, tooLarge);
    budget.give(924 * KiB);
    const held = await writer.write(bodyOf(small), 10 * 1024 * KiB, tooLarge);
    expect(spooledAtPut).toEqual([true, false]);
    expect(spooled.contentHash).toBe(held.contentHash);
    expect(spooled.contentHash).toBe(await hashOf(small));
    for (const w of [spooled, held]) expect((await collect((await local.get(w.storageKey)).body)).equals(small)).toBe(true);
    expect(budget.inUse).toBe(0);
  });

  it('gives the budget back and keeps nothing when the limit is hit or the store fails', async () => {
    const over = await setup(1024 * KiB);
    const refused = await appErrorOf(over.writer.write(bodyOf(small), 200 * KiB, tooLarge));
    expect(refused.code).toBe('PAYLOAD_TOO_LARGE');
    expect(over.spooledAtPut).toEqual([]);
    expect(over.budget.inUse).toBe(0);

    const down = await setup(1024 * KiB, true);
    const failed = await appErrorOf(down.writer.write(bodyOf(small), 10 * 1024 * KiB, tooLarge));
    expect(failed.code).toBe('UNAVAILABLE');
    expect(down.budget.inUse).toBe(0);
    const bigDown = await appErrorOf(down.writer.write(bodyOf(pseudoRandom('big', BODY_MAX + 1)), 10 * 1024 * KiB, tooLarge));
    expect(bigDown.code).toBe('UNAVAILABLE');
    expect(down.spooledAtPut).toEqual([false, true]);
    expect(await down.leftInSpool()).toEqual([]);
    expect(down.budget.inUse).toBe(0);
  });
});

/** The object files under a local store's root (objects/<key>; metadata and temp files aside). */
async function storedObjects(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile() && !e.name.endsWith('.json'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter((name) => name.startsWith('objects/'));
}

describe('BlobWriter.writeSized: a declared length, streamed', () => {
  async function sized() {
    const root = await mkdtemp(path.join(tmpdir(), 'stratus-blob-sized-'));
    roots.push(root);
    const local = new LocalObjectStore({ name: 'local-test', root: path.join(root, 'store') });
    // The bytes the store has read so far: proof that it reads while the body is still coming.
    const seen = { bytes: 0 };
    const store: ObjectStore = Object.assign(Object.create(local) as ObjectStore, {
      put: (key: string, body: Readable, size: number, options?: object) => {
        const tap = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            seen.bytes += chunk.length;
            callback(null, chunk);
          },
        });
        body.once('error', (error) => tap.destroy(error));
        return local.put(key, body.pipe(tap), size, options);
      },
    });
    const budget = new ByteBudget(1024 * KiB);
    const writer = new BlobWriter({ tmpDir: path.join(root, 'spool'), defaultBackend: () => ({ name: 'local-test', store }), memory: { bodyMax: BODY_MAX, budget } });
    return { writer, local, seen, budget, objects: () => storedObjects(path.join(root, 'store')), spool: () => readdir(path.join(root, 'spool')).catch(() => [] as string[]) };
  }

  it('passes the bytes on before the body has ended, and stores them with the content hash write() gives', async () => {
    const s = await sized();
    const data = pseudoRandom('sized', 700 * KiB);
    const body = new PassThrough();
    const writing = s.writer.writeSized(body, data.length, 'text/plain');
    body.write(data.subarray(0, 300 * KiB));
    await expect.poll(() => s.seen.bytes, { timeout: 5_000 }).toBeGreaterThanOrEqual(200 * KiB);
    body.end(data.subarray(300 * KiB));
    const written = await writing;
    expect(written).toMatchObject({ backend: 'local-test', size: data.length, contentHash: await hashOf(data) });
    expect((await collect((await s.local.get(written.storageKey)).body)).equals(data)).toBe(true);
    // Nothing held in memory or spooled for it.
    expect(s.budget.inUse).toBe(0);
    expect(await s.spool()).toEqual([]);
  });

  it('refuses a body shorter or longer than declared (BAD_INPUT size-mismatch) and keeps nothing', async () => {
    const s = await sized();
    const data = pseudoRandom('sized-bad', 300 * KiB);
    const short = await appErrorOf(s.writer.writeSized(bodyOf(data), data.length + 1));
    expect([short.code, short.details?.reason]).toEqual(['BAD_INPUT', 'size-mismatch']);
    const long = await appErrorOf(s.writer.writeSized(bodyOf(data), data.length - 1));
    expect([long.code, long.details?.reason]).toEqual(['BAD_INPUT', 'size-mismatch']);
    expect(await s.objects()).toEqual([]);
    const ok = await s.writer.writeSized(bodyOf(data), data.length);
    expect(await s.objects()).toEqual([`objects/${ok.storageKey}`]);
    expect(ok.size).toBe(data.length);
  });

  it('keeps nothing when the body fails midway', async () => {
    const s = await sized();
    const body = new PassThrough();
    const writing = s.writer.writeSized(body, 500 * KiB);
    body.write(pseudoRandom('cut', 100 * KiB));
    await expect.poll(() => s.seen.bytes, { timeout: 5_000 }).toBeGreaterThan(0);
    body.destroy(new Error('client went away'));
    const failed = await appErrorOf(writing);
    expect(failed.code).toBe('BAD_INPUT');
    expect(await s.objects()).toEqual([]);
  });
});
