/**
 * The content hash of the design: lowercase hex SHA-256 of the concatenated binary SHA-256 digests
 * of the file's 4 MiB blocks (the last block may be shorter; the empty file hashes the empty
 * string). Client and server compute it block by block, so chunks (multiples of 4 MiB) can be
 * digested independently and in parallel, and memory stays at one hash state plus 32 bytes a block.
 */
import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { digestPool, type DigestJob, type DigestPool } from '../platform/digests/digest-pool.ts';

export const BLOCK_SIZE = 4 * 1024 * 1024;
export const CONTENT_HASH_RE = /^[0-9a-f]{64}$/;

/** Combines block digests (in order) into the content hash. */
export function combineBlockDigests(digests: readonly Buffer[]): string {
  const outer = createHash('sha256');
  for (const digest of digests) outer.update(digest);
  return outer.digest('hex');
}

/**
 * Digests a stream into per-block SHA-256s (and MD5 of the whole, for the backend's ETag check)
 * while passing the bytes through unchanged. The hashing runs on the digest pool's worker threads
 * (platform/digests): the event loop only copies each read into a shared segment and keeps moving
 * bytes; a worker behind by the job's segments holds the stream back.
 */
export class BlockHasher extends Transform {
  digests: Buffer[] = [];
  bytes = 0;
  private md5Digest: Buffer | null = null;
  private readonly job: DigestJob;

  constructor(blockSize = BLOCK_SIZE, pool: DigestPool = digestPool()) {
    super();
    this.job = pool.job(blockSize);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.job.update(chunk).then(() => {
      this.bytes += chunk.length;
      callback(null, chunk);
    }, callback);
  }

  override _flush(callback: TransformCallback): void {
    this.job.finish().then((done) => {
      this.digests = done.blocks;
      this.md5Digest = done.md5;
      callback();
    }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.md5Digest === null) this.job.abort();
    callback(error);
  }

  /** The content hash; valid once the stream has ended. */
  contentHash(): string {
    return combineBlockDigests(this.digests);
  }

  /** MD5 of every byte that passed; valid once the stream has ended. */
  md5(): Buffer {
    if (this.md5Digest === null) throw new Error('BlockHasher.md5() before the stream ended');
    return this.md5Digest;
  }
}
