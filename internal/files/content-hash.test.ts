/**
 * The content hash against fixed vectors computed outside Stratus (Python's hashlib and
 * `sha256sum`, written here as literals), so a wrong block size, order, or combination fails.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BLOCK_SIZE, BlockHasher, combineBlockDigests } from './content-hash.ts';

async function hashOf(data: Buffer, pieces = 7): Promise<{ contentHash: string; digests: string[] }> {
  const hasher = new BlockHasher();
  const step = Math.max(1, Math.ceil(data.length / pieces));
  const parts = Array.from({ length: Math.ceil(data.length / step) }, (_, i) => data.subarray(i * step, (i + 1) * step));
  await pipeline(Readable.from(parts), hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  return { contentHash: hasher.contentHash(), digests: hasher.digests.map((d) => d.toString('hex')) };
}

/** SHA-256("abc"), the FIPS 180-2 example (Appendix B.1). */
const SHA256_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('content hash', () => {
  it('the block is 4 MiB', () => {
    expect(BLOCK_SIZE).toBe(4_194_304);
  });

  it('of the empty file is SHA-256 of the empty string', async () => {
    expect(await hashOf(Buffer.alloc(0))).toEqual({ contentHash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', digests: [] });
  });

  it('of a short file is SHA-256 over its one block digest', async () => {
    // printf abc | sha256sum | cut -c1-64 | xxd -r -p | sha256sum
    expect(await hashOf(Buffer.from('abc'))).toEqual({ contentHash: '4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358', digests: [SHA256_ABC] });
    expect(combineBlockDigests([Buffer.from(SHA256_ABC, 'hex')])).toBe('4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358');
  });

  it('is SHA-256 over the block digests in order, whatever the stream chunking', async () => {
    // Two full blocks and 12345 bytes, all 0x07 but 0xdeadbeef at offset BLOCK_SIZE + 5.
    const data = Buffer.alloc(4_194_304 * 2 + 12345, 7);
    data.writeUInt32BE(0xdeadbeef, 4_194_304 + 5);
    const expected = {
      contentHash: '553ab05c47c27ddc23e474a61e26daad2c772d282206828982783d3be886dec0',
      digests: [
        'c756100d738b97b9535069044e02c5a92cb0f62c4aecd7a92016feb1192d2f6f',
        '546a36e03717d57f0bad12a19faca53e14eb206a07f2a6251fe62a3c59809f8a',
        '14ed27068b27a572ddab1dfbb3aecad9c824c6177687c1017e586c602e04ae6d',
      ],
    };
    expect(await hashOf(data, 3)).toEqual(expected);
    expect(await hashOf(data, 101)).toEqual(expected);
  });

  it('of exactly one block has one digest', async () => {
    expect(await hashOf(Buffer.alloc(4_194_304, 1))).toEqual({
      contentHash: '0244ae9f814bf405e1504b7dc2218e9c56f0b08f1ea223a6bb03d93a0c832d1b',
      digests: ['5d2bafc266e711ed1e303de871e5b281fea2083d96e579dd504798bba5a34b42'],
    });
  });
});
