/**
 * One tus PATCH (or the body of a creation-with-upload POST) written into its upload session, on
 * the gateway: the stored tail (if any, read back from the backend) and then the body are cut
 * into the session's chunks; each whole chunk goes to the session's multipart upload as its part
 * and is recorded with its 4 MiB block digests (uploads.beginChunk/recordChunk, as the chunk PUT
 * does: progress events, and completion computes the content hash without reading anything back).
 * What is left after the last whole chunk is stored as the new tail object. Memory: the chunk
 * being filled plus PARTS_IN_FLIGHT travelling, whatever the PATCH's length. The block digests and
 * the part's MD5 are computed on the digest pool's threads while the chunk fills (platform/digests).
 *
 * - "The Server SHOULD always attempt to store as much of the received data as possible": a body
 *   cut off keeps its whole chunks and its partial chunk becomes the tail.
 * - Checksum extension: "Once the entire request has been received, the Server MUST verify the
 *   uploaded chunk ... [on mismatch] the uploaded chunk MUST be discarded, and the upload and its
 *   offset MUST NOT be updated": with Upload-Checksum, parts are uploaded (S3 part numbers can be
 *   written again) but nothing is recorded until the body is complete and verified.
 * - Bytes beyond Upload-Length: 413 (tusd and tus-node-server's ERR_SIZE_EXCEEDED; the spec's
 *   creation section answers a length over the maximum with 413 too); the excess is never stored:
 *   the chunk being filled is dropped, chunks already recorded stay.
 * - One writer per upload: the session's tus lock (uploads.tus.lock), renewed while streaming.
 */
import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { BLOCK_SIZE } from '../../files/content-hash.ts';
import { digestPool, type DigestJob } from '../../platform/digests/digest-pool.ts';
import { AppError } from '../../platform/errors.ts';
import type { UploadMeter } from '../../platform/metrics.ts';
import { faultOf } from '../../platform/metrics-outcome.ts';
import { normalizeError } from '../../platform/rpc/rpc.errors.ts';
import type { StorageRouter } from '../../storage/index.ts';
import type { UploadsClients } from '../chunks.writer.ts';
import { tusTailKey } from './tus-state.repository.ts';
import type { TusUploadState } from './tus.service.ts';
import { chunkLengthOf, type TusChecksum } from './tus.rules.ts';

/** Parts uploading while the next one fills (as many as the WebDAV PUT's writer: PARTS_IN_FLIGHT). */
export const TUS_PARTS_IN_FLIGHT = 3;
const LOCK_RENEW_MS = 10_000;

export interface TusPatch {
  id: string;
  uploadLinkId: string | null;
  /** Upload-Offset of the request. */
  offset: number;
  body: Readable;
  /** Content-Length when declared. */
  length: number | null;
  checksum: TusChecksum | null;
}

export interface TusPatchResult {
  offset: number;
  size: number;
  expiresAt: string;
  completed: boolean;
}

interface WrittenPart {
  index: number;
  etag: string;
  size: number;
  digests: string[];
}

/**
 * `meter`: the process's upload metrics. Each part stored and recorded counts `ok` (its size: the
 * stored tail it began with arrived in an earlier PATCH that stored no part), a part the backend
 * failed counts `failed`; a PATCH refused for the client's fault counts one `rejected` part with
 * the bytes it brought.
 */
export async function writeTusPatch(clients: UploadsClients, storage: StorageRouter, patch: TusPatch, meter?: UploadMeter): Promise<TusPatchResult> {
  const { lockToken, ...state } = await clients.uploads.tus.lock.mutate({ id: patch.id, uploadLinkId: patch.uploadLinkId });
  const renew = setInterval(() => void clients.uploads.tus.renew.mutate({ id: patch.id, lockToken }).catch(() => undefined), LOCK_RENEW_MS);
  const run = new PatchRun(clients, storage, state, lockToken, patch.checksum, meter);
  try {
    assertWritable(state, patch);
    const received = await run.write(patch.body, state.size - state.offset);
    const offset = state.offset + received;
    if (offset === state.size && state.status !== 'COMPLETED') {
      await clients.uploads.complete.mutate({ id: state.id });
      return { offset, size: state.size, expiresAt: state.expiresAt, completed: true };
    }
    return { offset, size: state.size, expiresAt: state.expiresAt, completed: state.status === 'COMPLETED' };
  } catch (error) {
    if (faultOf(error) === 'rejected') meter?.part(state.backend, 'rejected', run.received);
    throw error;
  } finally {
    clearInterval(renew);
    await clients.uploads.tus.unlock.mutate({ id: patch.id, lockToken }).catch(() => undefined);
  }
}

/** The refusals decided before a byte is read ("without modifying the upload resource"). */
function assertWritable(state: TusUploadState, patch: TusPatch): void {
  if (state.status !== 'PENDING' && state.status !== 'UPLOADING' && state.status !== 'COMPLETED') {
    const status = state.status.toLowerCase() as Lowercase<TusUploadState['status']>;
    throw new AppError('CONFLICT', `The upload is ${status}`, { details: { reason: `session_${status}`, status: state.status } });
  }
  if (patch.offset !== state.offset) {
    throw new AppError('CONFLICT', `Upload-Offset is ${patch.offset} but the upload is at ${state.offset}`, { details: { field: 'Upload-Offset', reason: 'offset_mismatch', offset: state.offset } });
  }
  if (patch.length !== null && patch.length > state.size - state.offset) throw beyondLength(state);
}

function beyondLength(state: TusUploadState): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `The upload has ${state.size} bytes (Upload-Length): this body goes beyond it`, {
    details: { field: 'Upload-Length', reason: 'beyond_upload_length', size: state.size, offset: state.offset },
  });
}

class PatchRun {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private index: number;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly settled: Promise<void>[] = [];
  private readonly written: WrittenPart[] = [];
  private failure: unknown = null;
  private readonly hash: Hash | null;
  /** The digests of the chunk being filled, computed off the event loop as its bytes arrive. */
  private digests: DigestJob | null = null;
  /** The body's bytes read so far (the metrics of a refused PATCH). */
  received = 0;

  constructor(
    private readonly clients: UploadsClients,
    private readonly storage: StorageRouter,
    private readonly state: TusUploadState,
    private readonly lockToken: string,
    private readonly checksum: TusChecksum | null,
    private readonly meter: UploadMeter | undefined,
  ) {
    this.index = state.nextIndex;
    this.hash = checksum ? createHash(checksum.algorithm) : null;
  }

  private get store() {
    return this.storage.store(this.state.backend);
  }

  /** Writes the tail and the body; returns the body's bytes taken (the offset grows by this). */
  async write(body: Readable, room: number): Promise<number> {
    try {
      return await this.writeAll(body, room);
    } finally {
      this.digests?.abort();
    }
  }

  private async writeAll(body: Readable, room: number): Promise<number> {
    await this.readTail();
    let cutOff: unknown = null;
    try {
      for await (const data of body as AsyncIterable<Buffer>) {
        this.received += data.length;
        if (this.received > room) throw beyondLength(this.state);
        this.hash?.update(data);
        await this.take(data);
      }
    } catch (error) {
      if (AppError.is(error, 'PAYLOAD_TOO_LARGE')) {
        await this.drop();
        throw error;
      }
      cutOff = error;
    }
    await Promise.all(this.settled);
    if (this.failure) throw toStoreError(this.failure);
    if (cutOff) return this.keepCutOff(cutOff);
    await this.verifyAndRecord();
    await this.storeTail();
    return this.received;
  }

  /** The stored tail's bytes come first: they begin the chunk this PATCH continues. */
  private async readTail(): Promise<void> {
    const tail = this.state.tail;
    if (!tail) return;
    try {
      const { body } = await this.store.get(tusTailKey(this.state.storageKey, tail.slot));
      for await (const data of body as AsyncIterable<Buffer>) await this.take(data);
    } catch (error) {
      if (!AppError.is(error, 'NOT_FOUND')) throw error;
      // The tail object is gone: forget it, and let the client ask for the (smaller) offset again.
      await this.clients.uploads.tus.setTail.mutate({ id: this.state.id, lockToken: this.lockToken, index: this.index, length: 0, slot: 0 });
      throw new AppError('CONFLICT', 'Part of this upload was lost; ask for its offset again (HEAD)', { details: { reason: 'offset_mismatch' } });
    }
    if (this.pendingBytes !== tail.length) throw new AppError('UNAVAILABLE', 'The stored tail of this upload has the wrong length');
  }

  private async take(data: Buffer): Promise<void> {
    let rest = data;
    while (rest.length > 0) {
      const need = chunkLengthOf(this.state, this.index) - this.pendingBytes;
      const piece = rest.length <= need ? rest : rest.subarray(0, need);
      rest = rest.subarray(piece.length);
      this.digests ??= digestPool().job(BLOCK_SIZE);
      await this.digests.update(piece);
      this.pending.push(piece);
      this.pendingBytes += piece.length;
      if (piece.length === need) await this.emit();
    }
  }

  /** Starts uploading the filled chunk as its part; waits while TUS_PARTS_IN_FLIGHT travel (backpressure). */
  private async emit(): Promise<void> {
    const buffers = this.pending;
    const size = this.pendingBytes;
    const index = this.index;
    const digests = this.digests;
    if (!digests) throw new Error('a filled chunk without its digests');
    this.pending = [];
    this.pendingBytes = 0;
    this.digests = null;
    this.index++;
    while (this.inFlight.size >= TUS_PARTS_IN_FLIGHT) await Promise.race(this.inFlight);
    if (this.failure) throw toStoreError(this.failure);
    const sent = this.upload(index, buffers, size, digests).catch((error: unknown) => {
      this.failure ??= error;
    });
    this.inFlight.add(sent);
    this.settled.push(sent);
    void sent.then(() => this.inFlight.delete(sent));
  }

  private async upload(index: number, buffers: Buffer[], size: number, job: DigestJob): Promise<void> {
    // The worker has hashed all but the last segment while the chunk filled: this waits for that one.
    const { blocks, md5 } = await job.finish();
    const part = await this.store.uploadPart(this.state.storageKey, this.state.multipartId, index + 1, Readable.from(buffers), size, { md5: () => md5 }).catch((error: unknown) => {
      this.meter?.part(this.state.backend, 'failed', size);
      throw error;
    });
    const written = { index, etag: part.etag, size, digests: blocks.map((d) => d.toString('hex')) };
    // With a checksum nothing is recorded before the whole body is verified.
    if (this.checksum) this.written.push(written);
    else await this.record(written);
  }

  /** One call per part (uploads.tus.recordPart): the tus lock, not a chunk slot, keeps other writers out. */
  private async record(part: WrittenPart): Promise<void> {
    await this.clients.uploads.tus.recordPart.mutate({ id: this.state.id, lockToken: this.lockToken, multipartId: this.state.multipartId, ...part });
    this.meter?.part(this.state.backend, 'ok', part.size);
  }

  private async verifyAndRecord(): Promise<void> {
    if (!this.checksum || !this.hash) return;
    if (!this.hash.digest().equals(this.checksum.digest)) {
      throw new AppError('BAD_INPUT', `The body does not match its Upload-Checksum (${this.checksum.algorithm}); nothing of it was kept`, {
        details: { field: 'Upload-Checksum', reason: 'checksum_mismatch' },
      });
    }
    for (const part of this.written.sort((a, b) => a.index - b.index)) await this.record(part);
  }

  /** The bytes after the last whole chunk become the tail (in the slot the current record does not use). */
  private async storeTail(): Promise<void> {
    const consumed = this.index !== this.state.nextIndex;
    if (this.pendingBytes === 0 && !consumed) return;
    // No tail before (no record at all, not even a stale one) and none now: nothing to record or delete.
    if (this.pendingBytes === 0 && this.state.tailSlot === null) return;
    if (this.pendingBytes === 0) {
      await this.clients.uploads.tus.setTail.mutate({ id: this.state.id, lockToken: this.lockToken, index: this.index, length: 0, slot: 0 });
      return;
    }
    const slot: 0 | 1 = this.state.tailSlot === 0 ? 1 : 0;
    await this.store.put(tusTailKey(this.state.storageKey, slot), Readable.from(this.pending), this.pendingBytes);
    await this.clients.uploads.tus.setTail.mutate({ id: this.state.id, lockToken: this.lockToken, index: this.index, length: this.pendingBytes, slot });
  }

  /** A body cut off: without a checksum what arrived is kept (whole chunks recorded, the rest as tail). */
  private async keepCutOff(cause: unknown): Promise<never> {
    if (!this.checksum) await this.storeTail();
    throw new AppError('BAD_INPUT', 'The request body was cut off', { details: { field: 'body', reason: 'body_incomplete' }, cause });
  }

  private async drop(): Promise<void> {
    this.digests?.abort();
    this.digests = null;
    this.pending = [];
    this.pendingBytes = 0;
    await Promise.all(this.settled);
  }
}

/** A service's refusal keeps its code; a store's failure is UNAVAILABLE (resumable from the offset). */
function toStoreError(error: unknown): AppError {
  const app = normalizeError(error);
  return app.code === 'INTERNAL' ? new AppError('UNAVAILABLE', 'The upload could not be stored; ask for its offset (HEAD) and resume', { cause: error }) : app;
}
