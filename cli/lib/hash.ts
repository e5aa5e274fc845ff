/**
 * The content hash of a local file (see internal/files/content-hash.ts for the definition):
 * SHA-256 per 4 MiB block, computed by several readers over contiguous runs of blocks at once,
 * then combined. Memory: one read buffer per reader.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { BLOCK_SIZE, combineBlockDigests } from '../../internal/files/shared.ts';

export async function blockDigests(file: string, size: number, parallel = 2): Promise<Buffer[]> {
  const blocks = Math.ceil(size / BLOCK_SIZE);
  const digests: Buffer[] = new Array<Buffer>(blocks);
  const per = Math.ceil(blocks / parallel);
  const handle = await open(file, 'r');
  try {
    await Promise.all(
      Array.from({ length: parallel }, async (_, worker) => {
        const buffer = Buffer.allocUnsafe(BLOCK_SIZE);
        for (let b = worker * per; b < Math.min(blocks, (worker + 1) * per); b++) {
          const length = Math.min(BLOCK_SIZE, size - b * BLOCK_SIZE);
          let read = 0;
          while (read < length) {
            const { bytesRead } = await handle.read(buffer, read, length - read, b * BLOCK_SIZE + read);
            if (bytesRead === 0) throw new Error(`${file} changed while it was read`);
            read += bytesRead;
          }
          digests[b] = createHash('sha256').update(buffer.subarray(0, length)).digest();
        }
      }),
    );
  } finally {
    await handle.close();
  }
  return digests;
}

export async function fileContentHash(file: string, size: number, parallel = 2): Promise<string> {
  return combineBlockDigests(await blockDigests(file, size, parallel));
}

/** Proofs for an instant-upload challenge: hex SHA-256 of the nonce followed by each range. */
export async function challengeProofs(file: string, nonce: string, ranges: { offset: number; length: number }[]): Promise<string[]> {
  const handle = await open(file, 'r');
  try {
    const proofs: string[] = [];
    for (const range of ranges) {
      const buffer = Buffer.alloc(range.length);
      await handle.read(buffer, 0, range.length, range.offset);
      proofs.push(createHash('sha256').update(Buffer.from(nonce, 'utf8')).update(buffer).digest('hex'));
    }
    return proofs;
  } finally {
    await handle.close();
  }
}

/** SHA-256 of a byte range of the file (the chunk's Content-Digest). */
export async function rangeSha256(file: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(Math.min(length, 1024 * 1024));
    let done = 0;
    while (done < length) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, length - done), start + done);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      done += bytesRead;
    }
    return hash.digest();
  } finally {
    await handle.close();
  }
}
