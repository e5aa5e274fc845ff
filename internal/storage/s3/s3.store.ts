/**
 * S3ObjectStore: the `ceph` driver (any S3 API; tested against Ceph RGW 16).
 *
 * Layout: one bucket; an ObjectStore key is the S3 object key as is (no prefix, no encoding).
 * Multipart uploads are S3 multipart uploads, so an upload id is the backend's UploadId and the
 * parts live in the backend until CompleteMultipartUpload or AbortMultipartUpload.
 *
 * Why it is written the way it is:
 * - Bodies are streamed with an exact ContentLength (RGW 16 answers 411 to a chunked body with a
 *   trailing checksum, so SDK checksums are off: `requestChecksumCalculation: 'WHEN_REQUIRED'`).
 *   With a fixed Content-Length a short body makes the request hang and a long one is cut, so
 *   `ExactLength` counts the bytes itself and aborts the request on a mismatch (BAD_INPUT).
 * - RGW returns an empty ETag from CompleteMultipartUpload: HEAD the object afterwards.
 * - Streaming requests are never retried by the SDK; the others use its standard retries.
 */
import { contentDisposition } from '../support/content-disposition.ts';
import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '../../platform/errors.ts';
import type {
  ByteRange,
  GetResult,
  MultipartUploadInfo,
  ObjectInfo,
  ObjectStore,
  PartInfo,
  PresignOptions,
  PutOptions,
  StoreCapabilities,
  StoreType,
} from '../object-store.ts';

export interface S3ObjectStoreOptions {
  name: string;
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle?: boolean;
  type?: StoreType;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** The SDK logs a warning through `console` unless it has a logger; failures are ours to report. */
const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export class S3ObjectStore implements ObjectStore {
  readonly name: string;
  readonly type: StoreType;
  /** AWS S3 limits ("Amazon S3 multipart upload limits"), which RGW enforces as well. */
  readonly capabilities: StoreCapabilities = { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000, presign: true };
  private readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3ObjectStoreOptions) {
    this.name = options.name;
    this.type = options.type ?? 'ceph';
    this.bucket = options.bucket;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: quietLogger,
      // A backend that does not accept a connection within 5 s is unavailable; a socket idle for
      // 2 min is dead (parts of 8 MiB move in well under a second on a working link).
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
    });
  }

  async createMultipart(key: string, options?: PutOptions): Promise<string> {
    const out = await this.call('createMultipart', key, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: options?.contentType })),
    );
    if (!out.UploadId) throw new AppError('UNAVAILABLE', 'S3 returned no UploadId', { details: { store: this.name } });
    return out.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number): Promise<PartInfo> {
    // "Part numbers can be any number from 1 to 10,000, inclusive" (S3 UploadPart).
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > this.capabilities.maxParts) {
      body.destroy();
      throw badInput('invalid-part-number', `part number ${partNumber} is outside 1..${this.capabilities.maxParts}`);
    }
    checkSize(size, this.capabilities.maxPartSize, body);
    const out = await this.streamed(key, body, size, (Body, abortSignal) =>
      this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body, ContentLength: size }),
        { abortSignal },
      ),
    );
    return { partNumber, etag: out.etag, size };
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    const parts: PartInfo[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await this.call('listParts', key, () =>
        this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumberMarker: marker })),
      );
      for (const p of page.Parts ?? []) {
        if (p.PartNumber !== undefined) parts.push({ partNumber: p.PartNumber, etag: unquote(p.ETag), size: p.Size ?? 0 });
      }
      if (!page.IsTruncated || page.NextPartNumberMarker === undefined) return parts;
      marker = page.NextPartNumberMarker;
    }
  }

  async completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    // "You must include at least one part" and "part numbers must be in ascending order"
    // (CompleteMultipartUpload); refuse here with a reason instead of RGW's bare MalformedXML.
    if (parts.length === 0) throw badInput('no-parts', 'a multipart upload needs at least one part');
    for (let i = 1; i < parts.length; i++) {
      if ((parts[i]?.partNumber ?? 0) <= (parts[i - 1]?.partNumber ?? 0)) {
        throw badInput('part-order', 'parts must be listed in ascending part-number order without repeats');
      }
    }
    try {
      await this.call('completeMultipart', key, () =>
        this.client.send(
          new CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key: key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
          }),
        ),
      );
    } catch (error) {
      // RGW 16 answers a completion of an aborted (or unknown) upload with 500 InternalError
      // "This multipart completion is already in progress" (rgw_op.cc: the upload's meta object
      // cannot be locked because it is gone). Ask ListParts, whose 404 is the real answer.
      if (AppError.is(error, 'UNAVAILABLE') && error.details?.s3 === 'InternalError') await this.listParts(key, uploadId);
      throw error;
    }
    // RGW's CompleteMultipartUpload answer has an empty ETag: the HEAD has the real one.
    const info = await this.head(key);
    if (!info) throw new AppError('UNAVAILABLE', 'completed object is not visible', { details: { store: this.name, key } });
    return info;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    await this.call('abortMultipart', key, () =>
      this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId })),
    );
  }

  async listMultipartUploads(prefix?: string): Promise<MultipartUploadInfo[]> {
    const uploads: MultipartUploadInfo[] = [];
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.call('listMultipartUploads', prefix ?? '', () =>
        this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId) uploads.push({ key: u.Key, uploadId: u.UploadId, ...(u.Initiated ? { initiated: u.Initiated } : {}) });
      }
      if (!page.IsTruncated) return uploads;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async put(key: string, body: Readable, size: number, options?: PutOptions): Promise<ObjectInfo> {
    // "The largest object that can be uploaded in a single PUT is 5 GB" (S3 PutObject).
    checkSize(size, 5 * GiB, body);
    const out = await this.streamed(key, body, size, (Body, abortSignal) =>
      this.client.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: key, Body, ContentLength: size, ContentType: options?.contentType }),
        { abortSignal },
      ),
    );
    return { key, size, etag: out.etag, ...(options?.contentType ? { contentType: options.contentType } : {}) };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    if (range) resolveRange(range, Number.MAX_SAFE_INTEGER); // refuse a malformed range before S3 ignores it
    const out = await this.call('get', key, () =>
      this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      ),
    );
    if (!(out.Body instanceof Readable)) throw new AppError('INTERNAL', 'S3 GetObject body is not a Node stream');
    const contentLength = out.ContentLength ?? 0;
    // "Content-Range: bytes 0-9/100": the total after the slash is the object's size.
    const total = /\/(\d+)$/.exec(out.ContentRange ?? '')?.[1];
    const size = total === undefined ? contentLength : Number(total);
    if (range && total === undefined) {
      // A 200 without Content-Range means the backend ignored the Range header ("A server MAY
      // ignore the Range header field", RFC 9110 §14.2): the body is not the slice asked for.
      out.Body.destroy();
      resolveRange(range, size);
      throw new AppError('UNAVAILABLE', 'the object store ignored a byte range', { details: { reason: 'range-ignored', store: this.name, key } });
    }
    return { body: out.Body, size, contentLength, etag: unquote(out.ETag) };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const out = await this.call('head', key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
      return {
        key,
        size: out.ContentLength ?? 0,
        etag: unquote(out.ETag),
        ...(out.ContentType ? { contentType: out.ContentType } : {}),
        ...(out.LastModified ? { lastModified: out.LastModified } : {}),
      };
    } catch (error) {
      if (AppError.is(error, 'NOT_FOUND')) return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    // S3 DeleteObject answers 204 for a missing key too, which is the contract's idempotence.
    await this.call('delete', key, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentDisposition: options.downloadName === undefined ? undefined : contentDisposition(options.downloadName),
      ResponseContentType: options.contentType,
    });
    // Signing is local (no request), so only a misconfiguration can fail here.
    return this.call('presignGet', key, () => getSignedUrl(this.client, command, { expiresIn: options.expiresInSeconds }));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async call<T>(op: string, key: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw mapS3Error(error, { store: this.name, op, key });
    }
  }

  /**
   * Sends `body` through an ExactLength meter. When the meter or the source fails, the request is
   * aborted (the backend then discards the partial body: nothing is recorded) and the meter's
   * error wins over the SDK's AbortError.
   */
  private async streamed(
    key: string,
    body: Readable,
    size: number,
    send: (body: Readable, abortSignal: AbortSignal) => Promise<{ ETag?: string; ServerSideEncryption?: string; SSECustomerAlgorithm?: string }>,
  ): Promise<{ etag: string }> {
    const meter = new ExactLength(size);
    const abort = new AbortController();
    let failure: unknown;
    const fail = (error: unknown) => {
      failure ??= error;
      abort.abort();
    };
    body.on('error', (error) => {
      fail(AppError.is(error) ? error : badInput('body-failed', 'the body stream failed', error));
      meter.destroy();
    });
    meter.on('error', fail);
    body.pipe(meter);
    let out: Awaited<ReturnType<typeof send>>;
    try {
      out = await send(meter, abort.signal);
    } catch (error) {
      body.destroy();
      throw failure ?? mapS3Error(error, { store: this.name, op: 'upload', key });
    }
    if (failure) throw failure;
    const etag = unquote(out.ETag);
    // "Objects created by the PUT Object, POST Object, or Copy operation, or through the AWS
    // Management Console, and are encrypted by SSE-S3 or plaintext, have ETags that are an MD5
    // digest of their object data" (S3 Object API: Common Response Headers). RGW keeps that rule
    // and its SDK checksums prove nothing, so the MD5 counted here is the end-to-end check.
    const encrypted = out.ServerSideEncryption === 'aws:kms' || out.SSECustomerAlgorithm !== undefined;
    if (!encrypted && /^[0-9a-f]{32}$/.test(etag) && etag !== meter.md5) {
      throw new AppError('UNAVAILABLE', 'the backend stored bytes other than those sent', {
        details: { reason: 'digest-mismatch', store: this.name, key },
      });
    }
    return { etag };
  }
}

/**
 * Passes exactly `expected` bytes through, and fails (BAD_INPUT) on a body that is shorter or
 * longer. The last byte is held back until the source has ended, so a body that turns out to be
 * too long never reaches the backend complete (it cannot record a part we then refuse).
 */
export class ExactLength extends Transform {
  private count = 0;
  private held: Buffer | undefined;
  private readonly hash = createHash('md5');
  md5 = '';

  constructor(private readonly expected: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.count > this.expected) {
      callback(badInput('size-mismatch', `body is longer than the declared ${this.expected} bytes`));
      return;
    }
    this.hash.update(chunk);
    if (this.count === this.expected && chunk.length > 0) {
      this.held = chunk.subarray(chunk.length - 1);
      callback(null, chunk.length > 1 ? chunk.subarray(0, chunk.length - 1) : undefined);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (this.count !== this.expected) {
      callback(badInput('size-mismatch', `body has ${this.count} bytes, ${this.expected} were declared`));
      return;
    }
    this.md5 = this.hash.digest('hex');
    callback(null, this.held);
  }
}

function checkSize(size: number, max: number, body: Readable): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > max) {
    body.destroy();
    throw badInput('invalid-size', `size ${size} is outside 0..${max}`);
  }
}

function badInput(reason: string, message: string, cause?: unknown): AppError {
  return new AppError('BAD_INPUT', message, { details: { reason }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * The contract's range rule (RFC 9110 §14.1.2): start and end are integers with 0 <= start <= end;
 * "a range is unsatisfiable if first-pos >= length" (BAD_INPUT 'range-not-satisfiable'); a last-pos
 * "greater than or equal to the current length" means the remainder, so `end` is clamped.
 */
export function resolveRange(range: ByteRange, size: number): ByteRange {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start) {
    throw badInput('invalid-range', `invalid byte range ${start}-${end}`);
  }
  if (start >= size) throw badInput('range-not-satisfiable', `range starts at ${start}, the object has ${size} bytes`);
  return { start, end: Math.min(end, size - 1) };
}

/**
 * `attachment; filename="ascii"; filename*=UTF-8''pct-encoded` (RFC 6266 §4.3: "filename*" with
 * the RFC 5987 encoding for any character outside ASCII, and a plain "filename" for old clients).
 */

/** S3 sends ETags quoted ("abc"); the ObjectStore contract carries them bare. */
export function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload', 'NoSuchBucket']);
/** S3 error code -> contract reason, for the requests the backend refuses as invalid. */
const BAD_INPUT_REASONS: Record<string, string> = {
  EntityTooSmall: 'part-too-small',
  EntityTooLarge: 'too-large',
  InvalidPart: 'invalid-part',
  InvalidPartOrder: 'part-order',
  InvalidRange: 'range-not-satisfiable',
  InvalidArgument: 'invalid-argument',
  MalformedXML: 'malformed-request',
  KeyTooLongError: 'key-too-long',
  IncompleteBody: 'size-mismatch',
  BadDigest: 'digest-mismatch',
};
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Maps an SDK failure to the contract's codes by the error's `name` (RGW error bodies have no
 * Message, so SDK messages read "UnknownError") and its HTTP status.
 */
export function mapS3Error(error: unknown, where: { store: string; op: string; key: string }): AppError {
  if (AppError.is(error)) return error;
  const e = (error ?? {}) as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const details = { store: where.store, op: where.op, key: where.key, s3: name || e.code };
  const reason = BAD_INPUT_REASONS[name];
  if (reason) return new AppError('BAD_INPUT', `${where.op}: ${name}`, { cause: error, details: { ...details, reason } });
  if (NOT_FOUND_NAMES.has(name) || status === 404) {
    return new AppError('NOT_FOUND', `${where.op}: ${where.key} not found`, { cause: error, details });
  }
  if (status !== undefined && status >= 400 && status < 500 && status !== 403 && status !== 429) {
    return new AppError('BAD_INPUT', `${where.op}: ${name || status}`, { cause: error, details: { ...details, reason: 'refused' } });
  }
  // 5xx, 429 SlowDown, 403 (this store's credentials are refused: an operator must act, the
  // request itself is fine), timeouts and socket errors: the store cannot serve us now.
  const network = NETWORK_CODES.has(e.code ?? '') || name === 'TimeoutError' || name === 'AbortError';
  if (status !== undefined || network) {
    return new AppError('UNAVAILABLE', `${where.op}: object store ${where.store} is unavailable`, { cause: error, details });
  }
  return new AppError('INTERNAL', `${where.op} failed`, { cause: error, details });
}
