/**
 * File-backed bucket shared by the fake OSS and COS servers. Bodies are streamed to disk (never held
 * in memory): a request body goes to a temp file while its MD5 is computed; an object is a list of
 * segments (one file for PutObject, the part files for a completed multipart upload), so completing
 * a 1 GiB upload does not copy it. Reads stream the segments in order with backpressure.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface Segment {
  path: string;
  size: number;
}

export interface StoredObject {
  key: string;
  size: number;
  etag: string;
  contentType: string;
  lastModified: Date;
  multipart: boolean;
  segments: Segment[];
}

export interface StoredPart extends Segment {
  partNumber: number;
  etag: string;
  md5: Buffer;
  lastModified: Date;
}

export interface StoredUpload {
  uploadId: string;
  key: string;
  contentType: string;
  initiated: Date;
  parts: Map<number, StoredPart>;
}

export interface ReceivedBody extends Segment {
  md5: Buffer;
}

/** A body that ended before (or ran past) its Content-Length; nothing is recorded. */
export class IncompleteBodyError extends Error {
  constructor(readonly expected: number, readonly received: number) {
    super(`body of ${received} bytes, Content-Length ${expected}`);
  }
}

export class FakeBucket {
  readonly objects = new Map<string, StoredObject>();
  readonly uploads = new Map<string, StoredUpload>();
  private closed = false;

  private constructor(readonly dir: string) {}

  static async create(prefix: string): Promise<FakeBucket> {
    return new FakeBucket(await mkdtemp(join(tmpdir(), prefix)));
  }

  /** Streams the request body into a new file; rejects (and removes the file) when it is cut short. */
  async receive(req: IncomingMessage): Promise<ReceivedBody> {
    const header = req.headers['content-length'];
    const expected = header === undefined ? undefined : Number(header);
    const path = join(this.dir, randomBytes(12).toString('hex'));
    const hash = createHash('md5');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(req, meter, createWriteStream(path));
      if (!req.complete || (expected !== undefined && size !== expected)) {
        throw new IncompleteBodyError(expected ?? -1, size);
      }
    } catch (error) {
      await unlink(path).catch(() => undefined);
      if (error instanceof IncompleteBodyError) throw error;
      throw new IncompleteBodyError(expected ?? -1, size);
    }
    return { path, size, md5: hash.digest() };
  }

  /** Drops a received body that will not be recorded (bad digest, refused request). */
  async discard(body: ReceivedBody): Promise<void> {
    await removeFiles([body]);
  }

  async putObject(key: string, body: ReceivedBody, etag: string, contentType: string): Promise<StoredObject> {
    const object: StoredObject = {
      key,
      size: body.size,
      etag,
      contentType,
      lastModified: new Date(),
      multipart: false,
      segments: [{ path: body.path, size: body.size }],
    };
    await this.replace(key, object);
    return object;
  }

  async deleteObject(key: string): Promise<boolean> {
    const existing = this.objects.get(key);
    if (!existing) return false;
    this.objects.delete(key);
    await removeFiles(existing.segments);
    return true;
  }

  createUpload(key: string, contentType: string): StoredUpload {
    const upload: StoredUpload = {
      uploadId: randomBytes(16).toString('hex').toUpperCase(),
      key,
      contentType,
      initiated: new Date(),
      parts: new Map(),
    };
    this.uploads.set(upload.uploadId, upload);
    return upload;
  }

  /** Last write wins: the previous file of the same part number is removed. */
  async putPart(upload: StoredUpload, partNumber: number, body: ReceivedBody, etag: string): Promise<StoredPart> {
    const part: StoredPart = { ...body, partNumber, etag, lastModified: new Date() };
    const previous = upload.parts.get(partNumber);
    upload.parts.set(partNumber, part);
    if (previous) await removeFiles([previous]);
    return part;
  }

  /** Turns the chosen parts into the object; unchosen parts are discarded with the upload. */
  async completeUpload(upload: StoredUpload, chosen: StoredPart[], etag: string): Promise<StoredObject> {
    this.uploads.delete(upload.uploadId);
    const keep = new Set(chosen);
    await removeFiles([...upload.parts.values()].filter((part) => !keep.has(part)));
    const object: StoredObject = {
      key: upload.key,
      size: chosen.reduce((sum, part) => sum + part.size, 0),
      etag,
      contentType: upload.contentType,
      lastModified: new Date(),
      multipart: true,
      segments: chosen.map(({ path, size }) => ({ path, size })),
    };
    await this.replace(upload.key, object);
    return object;
  }

  async abortUpload(upload: StoredUpload): Promise<void> {
    this.uploads.delete(upload.uploadId);
    await removeFiles([...upload.parts.values()]);
  }

  /** Uploads under a prefix, ordered by key then initiation (as both vendors list them). */
  listUploads(prefix: string): StoredUpload[] {
    return [...this.uploads.values()]
      .filter((upload) => upload.key.startsWith(prefix))
      .sort((a, b) => (a.key === b.key ? a.initiated.getTime() - b.initiated.getTime() : a.key < b.key ? -1 : 1));
  }

  /** Bytes `start..end` (inclusive) of the object, streamed segment by segment. */
  read(object: StoredObject, start: number, end: number): Readable {
    const segments = object.segments;
    async function* chunks(): AsyncGenerator<Buffer> {
      let offset = 0;
      for (const segment of segments) {
        const segStart = Math.max(start - offset, 0);
        const segEnd = Math.min(end - offset, segment.size - 1);
        offset += segment.size;
        if (segEnd < segStart) continue;
        for await (const chunk of createReadStream(segment.path, { start: segStart, end: segEnd })) {
          yield chunk as Buffer;
        }
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await rm(this.dir, { recursive: true, force: true });
  }

  private async replace(key: string, object: StoredObject): Promise<void> {
    const previous = this.objects.get(key);
    this.objects.set(key, object);
    if (previous) await removeFiles(previous.segments);
  }
}

async function removeFiles(segments: Segment[]): Promise<void> {
  await Promise.all(segments.map((segment) => unlink(segment.path).catch(() => undefined)));
}

/** The ETag of a multipart object as S3, OSS and COS compute it: MD5 of the parts' binary MD5s, "-N". */
export function multipartEtag(parts: StoredPart[]): string {
  const hash = createHash('md5');
  for (const part of parts) hash.update(part.md5);
  return `${hash.digest('hex')}-${parts.length}`;
}

export type CompletionCheck = { ok: true; parts: StoredPart[] } | { ok: false; code: string; message: string };

/**
 * The checks OSS and COS both document for CompleteMultipartUpload: parts listed in ascending order
 * (InvalidPartOrder), each uploaded with that ETag (InvalidPart), every part but the last at least the
 * vendor's minimum (EntityTooSmall). A failed check leaves the upload open.
 */
export function checkCompletion(
  upload: StoredUpload,
  requested: { partNumber: number; etag: string }[],
  minPartSize: number,
): CompletionCheck {
  const normalize = (etag: string) => etag.replace(/"/g, '').trim().toLowerCase();
  if (requested.length === 0) {
    return { ok: false, code: 'MalformedXML', message: 'The XML you provided was not well-formed or did not validate against our published schema.' };
  }
  const parts: StoredPart[] = [];
  let previous = 0;
  for (const { partNumber, etag } of requested) {
    if (partNumber <= previous) {
      return { ok: false, code: 'InvalidPartOrder', message: 'The list of parts was not in ascending order. Parts list must specified in order by part number.' };
    }
    previous = partNumber;
    const part = upload.parts.get(partNumber);
    if (!part || normalize(part.etag) !== normalize(etag)) {
      return { ok: false, code: 'InvalidPart', message: "One or more of the specified parts could not be found or the specified entity tag might not have matched the part's entity tag." };
    }
    parts.push(part);
  }
  if (parts.slice(0, -1).some((part) => part.size < minPartSize)) {
    return { ok: false, code: 'EntityTooSmall', message: 'Your proposed upload is smaller than the minimum allowed size.' };
  }
  return { ok: true, parts };
}
