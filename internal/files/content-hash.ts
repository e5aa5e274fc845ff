/**
 * The content hash of the design: lowercase hex SHA-256 of the concatenated binary SHA-256 digests
 * of the file's 4 MiB blocks (the last block may be shorter; the empty file hashes the empty
 * string). Client and server compute it block by block, so chunks (multiples of 4 MiB) can be
 * digested independently and in parallel, and memory stays at one hash state plus 32 bytes a block.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const BLOCK_SIZE = 4 * 1024 * 1024;
export const CONTENT_HASH_RE = /^[0-9a-f]{64}$/;

/** Combines block digests (in order) into the content hash. */
export function combineBlockDigests(digests: readonly Buffer[]): string {
  const outer = createHash('sha256');
  for (const digest of digests) outer.update(digest);
  return outer.digest('hex');
}

/** Digests a stream into per-block SHA-256s while passing the bytes through unchanged. */
export class BlockHasher extends Transform {
  readonly digests: Buffer[] = [];
  bytes = 0;
  private block: Hash = createHash('sha256');
  private inBlock = 0;

  constructor(private readonly blockSize = BLOCK_SIZE) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.blockSize - this.inBlock, chunk.length - offset);
      this.block.update(chunk.subarray(offset, offset + take));
      this.inBlock += take;
      offset += take;
      if (this.inBlock === this.blockSize) this.closeBlock();
    }
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.inBlock > 0) this.closeBlock();
    callback();
  }

  private closeBlock(): void {
    this.digests.push(this.block.digest());
    this.block = createHash('sha256');
    this.inBlock = 0;
  }

  /** The content hash; valid once the stream has ended. */
  contentHash(): string {
    return combineBlockDigests(this.digests);
  }
}
