/**
 * Streams a body of any length (known or not) into a new object on the default backend, in parts
 * of the backend's multipart upload: at most PARTS_IN_FLIGHT parts' bytes are held (PART_SIZE
 * each, more only when the declared length needs bigger parts to stay under the backend's part
 * count), the body is paused while they travel, so memory stays bounded whatever the file's size
 * and nothing is spooled to disk. The content hash is computed on the way; `limit` is enforced as the bytes
 * arrive (`onLimit` names the error). A body shorter than one part is stored with a single PUT.
 * On any failure nothing is kept: the multipart upload is aborted, a stored object deleted.
 */
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { newBlobKey } from '../files/blobs.writer.ts';
import { BlockHasher } from '../files/content-hash.ts';
import { AppError } from '../platform/errors.ts';
import type { ObjectStore, PartInfo } from '../storage/index.ts';

export const PART_SIZE = 8 * 1024 * 1024;

export interface StreamedBlob {
  backend: string;
  storageKey: string;
  size: number;
  contentHash: string;
}

export interface StreamTarget {
  backend: { name: string; store: ObjectStore };
  /** Declared length (Content-Length), sizes the parts; null for a chunked body. */
  length: number | null;
  limit: number;
  onLimit: () => AppError;
  contentType: string;
}

function partSizeFor(store: ObjectStore, length: number | null): number {
  const { minPartSize, maxPartSize, maxParts } = store.capabilities;
  const needed = length === null ? 0 : Math.ceil(length / Math.max(1, maxParts - 1));
  return Math.min(maxPartSize, Math.max(PART_SIZE, minPartSize, needed));
}

/** Parts sent at once: the body keeps arriving while earlier parts travel (memory: this many parts). */
export const PARTS_IN_FLIGHT = 3;

/** The parts of one object as they fill: multipart upload opened with the first full part. */
class PartSink {
  private uploadId: string | null = null;
  private readonly parts: Promise<PartInfo>[] = [];
  private readonly inFlight = new Set<Promise<PartInfo>>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private stored = false;

  constructor(
    private readonly store: ObjectStore,
    readonly key: string,
    private readonly partSize: number,
    private readonly contentType: string,
  ) {}

  async add(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.partSize) await this.flush();
  }

  /**
   * Starts sending the held chunks as the next part (as they are: no copy into one buffer); waits
   * first while PARTS_IN_FLIGHT are travelling, which also pauses the body (backpressure).
   */
  private async flush(): Promise<void> {
    const chunks = this.pending;
    const size = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.uploadId ??= await this.store.createMultipart(this.key, { contentType: this.contentType });
    while (this.inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    const sent = this.store.uploadPart(this.key, this.uploadId, this.parts.length + 1, Readable.from(chunks), size);
    this.parts.push(sent);
    this.inFlight.add(sent);
    // A failure is seen by the next race or by finish/discard; this only tracks what travels.
    sent.then(() => this.inFlight.delete(sent), () => undefined);
  }

  async finish(): Promise<void> {
    if (this.uploadId === null) {
      // Smaller than one part: one PUT (also the empty file).
      const body = Buffer.concat(this.pending, this.pendingBytes);
      this.stored = true;
      await this.store.put(this.key, Readable.from([body]), body.length, { contentType: this.contentType });
      return;
    }
    if (this.pendingBytes > 0) await this.flush();
    const parts = await Promise.all(this.parts);
    this.stored = true;
    await this.store.completeMultipart(this.key, this.uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
  }

  async discard(): Promise<void> {
    // Parts still travelling finish (or fail) before the upload is aborted, so none outlives it.
    await Promise.allSettled(this.parts);
    if (this.uploadId !== null) await this.store.abortMultipart(this.key, this.uploadId).catch(() => undefined);
    if (this.stored || this.uploadId !== null) await this.store.delete(this.key).catch(() => undefined);
  }
}

export async function writeMultipartStream(body: Readable, target: StreamTarget): Promise<StreamedBlob> {
  const { store, name } = target.backend;
  const sink = new PartSink(store, newBlobKey(), partSizeFor(store, target.length), target.contentType);
  const hasher = new BlockHasher();
  let seen = 0;
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      callback(seen > target.limit ? target.onLimit() : null, chunk);
    },
  });
  // The body is piped, not part of the pipeline: a refusal must not destroy the request (that
  // would reset the connection before the client reads the answer); it is drained instead.
  body.on('error', (error) => guard.destroy(error));
  body.on('close', () => {
    if (!body.readableEnded) guard.destroy(new AppError('BAD_INPUT', 'The request body was cut off', { details: { field: 'body', reason: 'body_incomplete' } }));
  });
  body.pipe(guard);
  try {
    await pipeline(guard, hasher, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) await sink.add(chunk);
    });
    if (target.length !== null && hasher.bytes !== target.length) {
      throw new AppError('BAD_INPUT', `The body has ${hasher.bytes} bytes, not the ${target.length} its Content-Length declared`, { details: { field: 'Content-Length', reason: 'size_invalid' } });
    }
    await sink.finish();
    return { backend: name, storageKey: sink.key, size: hasher.bytes, contentHash: hasher.contentHash() };
  } catch (error) {
    body.unpipe(guard);
    body.resume();
    await sink.discard();
    if (error instanceof AppError) throw error;
    throw new AppError('UNAVAILABLE', 'The file could not be stored', { cause: error });
  }
}
