import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, BlockHasher, combineBlockDigests } from './content-hash.ts';

async function hashOf(data: Buffer, pieces = 7): Promise<string> {
  const hasher = new BlockHasher();
  const step = Math.max(1, Math.ceil(data.length / pieces));
  const parts = Array.from({ length: Math.ceil(data.length / step) }, (_, i) => data.subarray(i * step, (i + 1) * step));
  await pipeline(Readable.from(parts), hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  return hasher.contentHash();
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest();

describe('content hash', () => {
  it('of the empty file is SHA-256 of the empty string', async () => {
    expect(await hashOf(Buffer.alloc(0))).toBe(createHash('sha256').update('').digest('hex'));
  });

  it('is SHA-256 over the block digests, whatever the stream chunking', async () => {
    const data = Buffer.alloc(BLOCK_SIZE * 2 + 12345, 7);
    data.writeUInt32BE(0xdeadbeef, BLOCK_SIZE + 5);
    const expected = combineBlockDigests([sha(data.subarray(0, BLOCK_SIZE)), sha(data.subarray(BLOCK_SIZE, 2 * BLOCK_SIZE)), sha(data.subarray(2 * BLOCK_SIZE))]);
    expect(await hashOf(data, 3)).toBe(expected);
    expect(await hashOf(data, 101)).toBe(expected);
  });

  it('of exactly one block has one digest', async () => {
    const data = Buffer.alloc(BLOCK_SIZE, 1);
    expect(await hashOf(data)).toBe(combineBlockDigests([sha(data)]));
  });
});
