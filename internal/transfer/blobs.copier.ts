/**
 * Copies one object between two ObjectStores by streaming: the source's GET stream is cut into
 * parts for the target's multipart upload while every byte goes through a BlockHasher, so the
 * content hash is checked without a second read. Memory: one part being filled plus at most
 * `concurrency` parts in flight (8 MiB parts, 3 in flight: about 32 MiB per copy).
 *
 * The copy is verified before it counts: the bytes read must give the blob's size and content hash
 * (else the multipart upload is aborted and nothing is left behind), and after completing, the
 * target must report the size; with `reread` the target object is read back and hashed as well.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BlockHasher } from '../files/content-hash.ts';
import { AppError } from '../platform/errors.ts';
import type { ObjectStore, PartInfo } from '../storage/object-store.ts';

const MiB = 1024 * 1024;

export interface CopyOptions {
  /** Preferred part size; raised to the target's minPartSize and to fit its maxParts. Default 8 MiB. */
  partSize?: number;
  /** Parts uploading at once. Default 3. */
  concurrency?: number;
  /** Read the target back and hash it after completing. */
  reread?: boolean;
  /** Called as parts land, with the bytes of each. */
  onProgress?: (bytes: number) => void;
}

export interface Expected {
  size: number;
  contentHash: string;
}

export function partSizeFor(target: ObjectStore, size: number, preferred = 8 * MiB): number {
  const { minPartSize, maxPartSize, maxParts } = target.capabilities;
  const size_ = Math.max(preferred, minPartSize, Math.ceil(size / maxParts));
  if (size_ > maxPartSize) throw new AppError('PAYLOAD_TOO_LARGE', `Object of ${size} bytes does not fit the target's multipart limits`);
  return size_;
}

export async function copyObject(
  source: ObjectStore, sourceKey: string, target: ObjectStore, targetKey: string, expected: Expected, options: CopyOptions = {},
): Promise<void> {
  // A run killed mid-copy leaves its multipart upload open under the same key: abort it, or it
  // holds storage forever. Keys are per blob, so an upload under this exact key is a transfer's.
  for (const stale of await target.listMultipartUploads(targetKey)) {
    if (stale.key === targetKey) await target.abortMultipart(targetKey, stale.uploadId).catch(() => undefined);
  }
  const { body } = await source.get(sourceKey);
  const hasher = new BlockHasher();
  if (expected.size === 0) {
    await pipeline(body, hasher, sink());
    verifySource(hasher, expected);
    await target.put(targetKey, Readable.from([]), 0);
  } else {
    await streamMultipart(body, hasher, target, targetKey, expected, options);
  }
  const head = await target.head(targetKey);
  if (head?.size !== expected.size) {
    throw new AppError('UNAVAILABLE', `Target ${target.name} reports ${head?.size ?? 'no object'} instead of ${expected.size} bytes`, { details: { reason: 'target_size_mismatch' } });
  }
  if (options.reread) {
    const back = new BlockHasher();
    await pipeline((await target.get(targetKey)).body, back, sink());
    if (back.contentHash() !== expected.contentHash || back.bytes !== expected.size) {
      await target.delete(targetKey).catch(() => undefined);
      throw new AppError('UNAVAILABLE', `Target ${target.name} returned other bytes than were written`, { details: { reason: 'target_hash_mismatch' } });
    }
  }
}

async function streamMultipart(
  body: Readable, hasher: BlockHasher, target: ObjectStore, key: string, expected: Expected, options: CopyOptions,
): Promise<void> {
  const partSize = partSizeFor(target, expected.size, options.partSize);
  const concurrency = options.concurrency ?? 3;
  const uploadId = await target.createMultipart(key);
  const parts: PartInfo[] = [];
  const inFlight = new Set<Promise<void>>();
  const upload = async (partNumber: number, data: Buffer) => {
    parts.push(await target.uploadPart(key, uploadId, partNumber, Readable.from([data]), data.length));
    options.onProgress?.(data.length);
  };
  const send = async (partNumber: number, data: Buffer) => {
    const task = upload(partNumber, data);
    inFlight.add(task);
    // Settled tasks leave the set; a failure is seen by the race or the final wait below.
    task.then(() => inFlight.delete(task), () => undefined);
    if (inFlight.size >= concurrency) await Promise.race(inFlight);
  };
  try {
    await pipeline(body, hasher, async (source: AsyncIterable<Buffer>) => {
      let buffered: Buffer[] = [];
      let length = 0;
      let partNumber = 0;
      for await (const chunk of source) {
        let rest = chunk;
        while (length + rest.length >= partSize) {
          const take = partSize - length;
          buffered.push(rest.subarray(0, take));
          rest = rest.subarray(take);
          await send(++partNumber, Buffer.concat(buffered, partSize));
          buffered = [];
          length = 0;
        }
        if (rest.length > 0) {
          buffered.push(rest);
          length += rest.length;
        }
      }
      if (length > 0) await send(++partNumber, Buffer.concat(buffered, length));
    });
    await Promise.all(inFlight);
    verifySource(hasher, expected);
    parts.sort((a, b) => a.partNumber - b.partNumber);
    await target.completeMultipart(key, uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
  } catch (error) {
    await Promise.allSettled(inFlight);
    await target.abortMultipart(key, uploadId).catch(() => undefined);
    throw error;
  }
}

function verifySource(hasher: BlockHasher, expected: Expected): void {
  const got = hasher.contentHash();
  if (hasher.bytes !== expected.size || got !== expected.contentHash) {
    throw new AppError('INTERNAL', `Source bytes do not match the blob (${hasher.bytes} bytes, hash ${got.slice(0, 12)}…)`, {
      details: { reason: 'source_hash_mismatch', bytes: hasher.bytes, contentHash: got },
    });
  }
}

function sink(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}
