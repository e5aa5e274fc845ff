/**
 * Streams one chunk into the backend's multipart upload: the uploads service grants the slot,
 * the bytes go straight from the request to the store (bounded memory: no buffering here), the
 * server digests every 4 MiB block (and the whole chunk when a Content-Digest came) on the way,
 * and the chunk is recorded only after the backend acknowledged the part and the Content-Digest
 * (when sent) matched. Live progress of the bytes in flight is reported once a second per chunk.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TRPCClient } from '@trpc/client';
import { BlockHasher } from '../files/content-hash.ts';
import { AppError } from '../platform/errors.ts';
import type { UploadMeter } from '../platform/metrics.ts';
import type { StorageRouter } from '../storage/index.ts';
import type { UploadProgress } from './progress.channel.ts';
import { meteredPart, newTally, type PartTally } from './upload.metering.ts';
import type { UploadsRouter } from './uploads.router.ts';

/**
 * How often a streaming chunk reports its bytes (and renews its lock, CHUNK_LOCK_MS = 20 s). Each
 * report is a service call with a session read, three Redis commands and a publish: at 250 ms,
 * 8 chunks in flight made 32 of them a second, a tenth of the server's CPU during an upload
 * (bench/profile). With several chunks in flight a session still gets a few events a second.
 */
export const PROGRESS_INTERVAL_MS = 1000;

export interface ChunkWrite {
  sessionId: string;
  index: number;
  body: Readable;
  /** Content-Length when known; checked against the chunk's size before any byte is read. */
  length: number | null;
  /** RFC 9530 sha-256 of the body, when the client sent one. */
  digest: Buffer | null;
}

export type ChunkResult = UploadProgress & { index: number; alreadyRecorded: boolean };

/** The uploads service as the gateway reaches it (in process or over HTTP). */
export interface UploadsClients {
  uploads: TRPCClient<UploadsRouter>;
}

/** `meter`: the process's upload metrics (stratus_upload_chunks_total, _bytes_total). */
export function writeChunk(clients: UploadsClients, storage: StorageRouter, chunk: ChunkWrite, meter?: UploadMeter): Promise<ChunkResult> {
  const tally = newTally();
  return meteredPart(meter, tally, () => streamChunk(clients, storage, chunk, tally));
}

async function streamChunk(clients: UploadsClients, storage: StorageRouter, chunk: ChunkWrite, tally: PartTally): Promise<ChunkResult> {
  const { sessionId, index } = chunk;
  const slot = await clients.uploads.beginChunk.mutate({ sessionId, index, length: chunk.length });
  if (slot.alreadyRecorded) {
    // The session's parts are already assembled into one object: the bytes are read and dropped.
    chunk.body.resume();
    const progress = await clients.uploads.progress.query({ id: sessionId });
    return { ...progress, index, alreadyRecorded: true };
  }
  tally.backend = slot.backend;
  // The whole-chunk SHA-256 only serves the Content-Digest check: without one, neither its hash
  // pass nor its stream stage (a Transform hop per 64 KiB read) is paid. The bytes streamed so far
  // are the block hasher's count.
  const whole = chunk.digest ? createHash('sha256') : null;
  const blocks = new BlockHasher();
  let reported = 0;
  const stages: Transform[] = whole ? [wholeDigest(whole), blocks] : [blocks];
  // Also renews the chunk's lock: reported even when no byte arrived, so a slow link keeps it.
  const report = async () => {
    const delta = blocks.bytes - reported;
    reported += delta;
    await clients.uploads.chunkProgress.mutate({ sessionId, index, lockToken: slot.lockToken, delta }).catch(() => undefined);
  };
  const timer = setInterval(() => void report(), PROGRESS_INTERVAL_MS);
  // Once the backend took the part, a refusal must also drop an earlier receipt of this chunk.
  let partWritten = false;
  // The record call releases the in-flight bytes and the lock itself, even when it refuses.
  let recordCalled = false;
  const flowing = pipeline([chunk.body, ...stages]).then(
    () => undefined,
    (error: unknown) => error,
  );
  try {
    const part = await storage.store(slot.backend).uploadPart(slot.storageKey, slot.multipartId, slot.partNumber, blocks, slot.size, { md5: () => blocks.md5() });
    partWritten = true;
    const streamError = await flowing;
    tally.bytes = blocks.bytes;
    if (streamError) throw streamError;
    if (chunk.digest && whole && !whole.digest().equals(chunk.digest)) {
      throw new AppError('BAD_INPUT', 'The chunk does not match its Content-Digest', { details: { field: 'Content-Digest', reason: 'digest_mismatch' } });
    }
    clearInterval(timer);
    recordCalled = true;
    const { outcome, ...progress } = await clients.uploads.recordChunk.mutate({
      sessionId, index, lockToken: slot.lockToken, etag: part.etag, size: part.size, streamed: reported,
      digests: blocks.digests.map((d) => d.toString('hex')),
    });
    return { ...progress, index, alreadyRecorded: outcome === 'unchanged' };
  } catch (error) {
    clearInterval(timer);
    tally.bytes = blocks.bytes;
    blocks.destroy();
    await flowing;
    if (!recordCalled) {
      await clients.uploads.abortChunk.mutate({ sessionId, index, lockToken: slot.lockToken, streamed: reported, partWritten }).catch(() => undefined);
    }
    throw error;
  }
}

/** Passes the bytes through, hashing them into `hash` on the way. */
function wholeDigest(hash: Hash): Transform {
  return new Transform({
    transform(data: Buffer, _encoding, callback) {
      hash.update(data);
      callback(null, data);
    },
  });
}
