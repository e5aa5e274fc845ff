/**
 * Writes a stream of unknown length as a new blob object on the default backend: the length must
 * be known for a single PUT, so the body is held until it ends while the content hash is computed
 * and the size limit enforced, then PUT with its length. A small body (most files of a drive) is
 * held in memory, within a process-wide byte budget (body-sink.ts); a larger one, or any body
 * while the budget is spent, is spooled to a temp file (bounded memory) and PUT from there.
 * Nothing is kept when a limit is hit or the store fails: the temp file and any partial object go.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../platform/errors.ts';
import { PRIVATE_DIR_MODE } from '../platform/private-files.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { BodySink, MEMORY_BODY_MAX, PROCESS_BODY_BUDGET, type ByteBudget } from './body-sink.ts';
import { BlockHasher } from './content-hash.ts';

export interface WrittenBlob {
  backend: string;
  storageKey: string;
  size: number;
  contentHash: string;
}

export interface BlobWriterOptions {
  tmpDir: string;
  defaultBackend: () => { name: string; store: ObjectStore };
  /**
   * Bodies of at most `bodyMax` bytes are held in memory while `budget` (shared by every writer
   * of the process) has room; defaults: 8 MiB (the web app's one-request bound; the CLI and the
   * web app send the length, which takes writeSized, and hold nothing) and the process-wide 64 MiB budget.
   */
  memory?: { bodyMax: number; budget: ByteBudget };
}

/** Object key of a new blob: random, so two uploads never write the same key. */
export function newBlobKey(): string {
  const id = randomUUID();
  return `blobs/${id.slice(0, 2)}/${id}`;
}

/** A spooled body is written continuously; one untouched this long was left by a crash. */
export const SPOOL_MAX_AGE_MS = 3_600_000;

/** A failure to store a body as the callers answer it: its own AppError, else UNAVAILABLE. */
function storeFailure(error: unknown): AppError {
  return error instanceof AppError ? error : new AppError('UNAVAILABLE', 'The file could not be stored', { cause: error });
}

export class BlobWriter {
  constructor(private readonly options: BlobWriterOptions) {}

  /** Removes spooled bodies that a crashed process left (at start, then hourly). */
  async sweep(olderThanMs = SPOOL_MAX_AGE_MS): Promise<number> {
    const names = await readdir(this.options.tmpDir).catch(() => [] as string[]);
    let removed = 0;
    for (const name of names.filter((n) => n.startsWith('upload-'))) {
      const file = path.join(this.options.tmpDir, name);
      const stats = await stat(file).catch(() => null);
      if (!stats || Date.now() - stats.mtimeMs < olderThanMs) continue;
      await rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  /**
   * `limit` bytes at most; `onLimit(bytes)` builds the error to raise when the stream goes past it
   * (PAYLOAD_TOO_LARGE or QUOTA_EXCEEDED, the caller knows which limit it was).
   */
  async write(body: Readable, limit: number, onLimit: () => AppError, contentType?: string): Promise<WrittenBlob> {
    const memory = this.options.memory ?? { bodyMax: MEMORY_BODY_MAX, budget: PROCESS_BODY_BUDGET };
    const sink = new BodySink({ ...memory, spoolFile: () => this.spoolFile() });
    const hasher = new BlockHasher();
    let seen = 0;
    const guard = new Transform({
      transform(chunk: Buffer, _enc, callback) {
        seen += chunk.length;
        callback(seen > limit ? onLimit() : null, chunk);
      },
    });
    try {
      await pipeline(body, guard, hasher, sink);
      return await this.putNew(sink.body(), hasher.bytes, hasher, contentType);
    } catch (error) {
      throw storeFailure(error);
    } finally {
      await sink.discard();
    }
  }

  /**
   * A body whose length the client declared (uploadFile's `size`): streamed to the backend as it
   * arrives, one PUT of that length, hashed on the way; nothing is held. The store's length guard
   * (storage/support/exact-length.ts) refuses a body that ends short or runs long, BAD_INPUT
   * size-mismatch, and holds its last byte back until the body has ended, so the backend never
   * completes an object that is then refused; the object is removed whatever failed.
   */
  async writeSized(body: Readable, size: number, contentType?: string): Promise<WrittenBlob> {
    const hasher = new BlockHasher();
    // A failing body fails the hasher, which the store reads: its request is aborted.
    body.once('error', (error) => hasher.destroy(error));
    body.pipe(hasher);
    try {
      // The hasher's MD5 is final before the guard lets the last byte go.
      return await this.putNew(hasher, size, hasher, contentType);
    } catch (error) {
      body.unpipe(hasher);
      hasher.destroy();
      throw error;
    }
  }

  /**
   * One PUT of a new blob object of `size` bytes from `body`, hashed by `hasher` on the way in (the
   * driver's ETag check reuses its MD5); the object is removed when the PUT fails.
   */
  private async putNew(body: Readable, size: number, hasher: BlockHasher, contentType?: string): Promise<WrittenBlob> {
    const { name, store } = this.options.defaultBackend();
    const key = newBlobKey();
    try {
      await store.put(key, body, size, { md5: () => hasher.md5(), ...(contentType ? { contentType } : {}) });
    } catch (error) {
      await store.delete(key).catch(() => undefined);
      throw storeFailure(error);
    }
    return { backend: name, storageKey: key, size, contentHash: hasher.contentHash() };
  }

  /** A private temp file for a body that is spooled (its directory made on first use). */
  private async spoolFile(): Promise<string> {
    await mkdir(this.options.tmpDir, { recursive: true, mode: PRIVATE_DIR_MODE });
    return path.join(this.options.tmpDir, `upload-${randomUUID()}`);
  }
}
