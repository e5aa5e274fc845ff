/**
 * BlobWriter's memory budget: a small body is held in memory and PUT from there (no temp file at
 * the time of the PUT), a body over the per-body maximum or over what the process budget has left
 * is spooled to disk; both are stored byte for byte with the same content hash, and the budget is
 * given back whatever happens (limit hit, store failure).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
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
