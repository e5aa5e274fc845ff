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
 * - PUTs of a body (PutObject, UploadPart) on a path-style endpoint go over lean-put.ts: the SDK's
 *   stack cost 2–3 CPU ms a request, of the ~26 CPU ms a session's chunk cost besides its bytes
 *   (bench/profile/session-probe.ts).
 * - Big GETs (a range or an expected length of at least `leanGetMinBytes`, 8 MiB) on an `http:`
 *   endpoint go over lean-get.ts (1 MiB socket reads instead of node:http's 64 KiB: a quarter of
 *   the CPU per proxied GiB), signed by the SDK's presigner, so credentials and signing stay the
 *   SDK's. Anything but a plain 200/206 with a Content-Length is asked again through the SDK,
 *   whose answer (404, 416, 5xx) is mapped as before. Small GETs keep the SDK's kept-alive sockets.
 */
import { Readable } from 'node:stream';
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
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { AppError } from '../../platform/errors.ts';
import type {
  ByteRange,
  GetOptions,
  GetResult,
  MultipartUploadInfo,
  ObjectInfo,
  ObjectStore,
  PartInfo,
  PresignOptions,
  BodyOptions,
  PutOptions,
  StoreCapabilities,
  StoreType,
} from '../object-store.ts';
import { contentDisposition } from '../support/content-disposition.ts';
import { badInput, mapErrors, nullIfNotFound, unavailable } from '../support/storage.errors.ts';
import { unquote } from '../support/etag.ts';
import { ExactLength } from '../support/exact-length.ts';
import { checkPartList, checkPartNumber, checkSize, refusing } from '../support/limits.ts';
import { contentRangeTotal, resolveRange } from '../support/range.ts';
import { BufferPool } from '../support/buffer-pool.ts';
import { leanGet, type LeanAnswer } from './lean-get.ts';
import { LeanPut } from './lean-put.ts';
import { mapS3Error } from './s3-errors.ts';

export interface S3ObjectStoreOptions {
  name: string;
  endpoint?: string;
  /** Where clients reach the store, when not at `endpoint`: presigned URLs are signed for this host. */
  publicEndpoint?: string;
  region: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  forcePathStyle?: boolean;
  type?: StoreType;
  /**
   * GETs expected to be at least this long use lean-get.ts (default 8 MiB; 0: every GET, also one
   * of unknown length; Infinity: none). Only on an `http:` endpoint.
   */
  leanGetMinBytes?: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 120_000;

/** The SDK logs a warning through `console` unless it has a logger; failures are ours to report. */
const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export class S3ObjectStore implements ObjectStore {
  readonly name: string;
  readonly type: StoreType;
  /** AWS S3 limits ("Amazon S3 multipart upload limits"), which RGW enforces as well. */
  readonly capabilities: StoreCapabilities = { minPartSize: 5 * MiB, maxPartSize: 5 * GiB, maxParts: 10_000, presign: true };
  private readonly client: S3Client;
  /** Signs presigned URLs (no I/O): the client itself, or one configured with the public endpoint. */
  private readonly signer: S3Client;
  private readonly bucket: string;
  /** Bytes from which a GET goes over lean-get.ts; undefined: never (not a plain http endpoint). */
  private readonly leanFrom: number | undefined;
  /** The lean GETs' read buffers, reused once the download handler has sent them (buffer-pool.ts). */
  private readonly readPool = new BufferPool(MiB, 16);
  /** Single PUTs signed and sent without the SDK's stack (lean-put.ts); undefined: no endpoint, or virtual-hosted. */
  private readonly leanPut: LeanPut | undefined;

  constructor(options: S3ObjectStoreOptions) {
    this.name = options.name;
    this.type = options.type ?? 'ceph';
    this.bucket = options.bucket;
    const settings = (endpoint: string | undefined): S3ClientConfig => ({
      region: options.region,
      ...(endpoint === undefined ? {} : { endpoint }),
      forcePathStyle: options.forcePathStyle ?? true,
      credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      logger: quietLogger,
      // A backend that does not accept a connection within 5 s is unavailable; a socket idle for
      // 2 min is dead (parts of 8 MiB move in well under a second on a working link).
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: IDLE_TIMEOUT_MS },
    });
    this.client = new S3Client(settings(options.endpoint));
    this.signer = options.publicEndpoint === undefined ? this.client : new S3Client(settings(options.publicEndpoint));
    this.leanFrom = options.endpoint?.startsWith('http://') ? (options.leanGetMinBytes ?? 8 * MiB) : undefined;
    this.leanPut =
      options.endpoint === undefined || options.forcePathStyle === false
        ? undefined
        : new LeanPut({
            endpoint: new URL(options.endpoint),
            bucket: options.bucket,
            region: options.region,
            credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey },
            connectTimeoutMs: CONNECT_TIMEOUT_MS,
            idleTimeoutMs: IDLE_TIMEOUT_MS,
          });
  }

  async createMultipart(key: string, options?: PutOptions): Promise<string> {
    const out = await this.call('createMultipart', key, () =>
      this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: options?.contentType })),
    );
    if (!out.UploadId) throw unavailable('S3 returned no UploadId', { store: this.name });
    return out.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number, options: BodyOptions = {}): Promise<PartInfo> {
    await refusing(body, () => {
      checkPartNumber(partNumber, this.capabilities.maxParts);
      checkSize(size, this.capabilities.maxPartSize);
    });
    const lean = this.leanPut;
    // A session's chunk is such a PUT: through lean-put.ts when it serves this endpoint, as single PUTs are.
    const out = await this.streamed(key, body, size, (Body, abortSignal) =>
      lean
        ? lean.put(key, Body, size, undefined, abortSignal, { partNumber: String(partNumber), uploadId })
        : this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body, ContentLength: size }), { abortSignal }),
      options.md5,
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
    // Refuse an empty or unordered list here with a reason instead of RGW's bare MalformedXML.
    checkPartList(parts);
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
    if (!info) throw unavailable('completed object is not visible', { store: this.name, key });
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
    await refusing(body, () => checkSize(size, 5 * GiB));
    const lean = this.leanPut;
    const out = await this.streamed(
      key,
      body,
      size,
      (Body, abortSignal) =>
        lean
          ? lean.put(key, Body, size, options?.contentType, abortSignal)
          : this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body, ContentLength: size, ContentType: options?.contentType }), { abortSignal }),
      options?.md5,
    );
    return { key, size, etag: out.etag, ...(options?.contentType ? { contentType: options.contentType } : {}) };
  }

  async get(key: string, range?: ByteRange, options?: GetOptions): Promise<GetResult> {
    if (range) resolveRange(range, Number.MAX_SAFE_INTEGER); // refuse a malformed range before S3 ignores it
    const expected = range ? range.end - range.start + 1 : options?.expectedBytes;
    if (this.leanFrom !== undefined && (expected === undefined ? this.leanFrom === 0 : expected >= this.leanFrom)) {
      const lean = await this.leanGet(key, range, options?.pooled === true);
      if (lean) return lean;
    }
    const out = await this.call('get', key, () =>
      this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined }),
      ),
    );
    if (!(out.Body instanceof Readable)) throw new AppError('INTERNAL', 'S3 GetObject body is not a Node stream');
    return this.getResult(key, range, { body: out.Body, length: out.ContentLength ?? 0, contentRange: out.ContentRange, etag: out.ETag });
  }

  /**
   * The GET over lean-get.ts, or null when its answer is not a plain 200/206 with a
   * Content-Length (then the SDK asks again and maps the refusal, e.g. 404 → NOT_FOUND).
   */
  private async leanGet(key: string, range: ByteRange | undefined, pooled: boolean): Promise<GetResult | null> {
    const url = await this.call('get', key, () => getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: 60 }));
    let answer: LeanAnswer;
    try {
      answer = await leanGet(new URL(url), range ? { range: `bytes=${range.start}-${range.end}` } : {}, {
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        idleTimeoutMs: IDLE_TIMEOUT_MS,
        // A failure mid-body (a cut connection, a stall) reads as a backend failure: UNAVAILABLE.
        bodyError: (error) => unavailable('the object store broke off a download', { store: this.name, key }, error),
        ...(pooled ? { pool: this.readPool } : {}),
      });
    } catch (error) {
      throw unavailable('the object store could not be reached', { store: this.name, key }, error);
    }
    const { status, headers, length, body } = answer;
    if ((status !== 200 && status !== 206) || length === null) {
      body.destroy();
      return null;
    }
    const result = { ...this.getResult(key, range, { body, length, contentRange: headers['content-range'], etag: headers.etag }), takeConnection: answer.take };
    return pooled ? { ...result, release: (chunk) => this.readPool.give(chunk) } : result;
  }

  /** The GetResult of a 200/206 answer; a range the backend ignored is refused (and the body closed). */
  private getResult(key: string, range: ByteRange | undefined, out: { body: Readable; length: number; contentRange: string | undefined; etag: string | undefined }): GetResult {
    const total = contentRangeTotal(out.contentRange);
    const size = total ?? out.length;
    if (range && total === undefined) {
      // A 200 without Content-Range means the backend ignored the Range header ("A server MAY
      // ignore the Range header field", RFC 9110 §14.2): the body is not the slice asked for.
      out.body.destroy();
      resolveRange(range, size);
      throw unavailable('the object store ignored a byte range', { reason: 'range-ignored', store: this.name, key });
    }
    return { body: out.body, size, contentLength: out.length, etag: unquote(out.etag) };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const out = await nullIfNotFound(this.call('head', key, () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }))));
    if (!out) return null;
    return {
      key,
      size: out.ContentLength ?? 0,
      etag: unquote(out.ETag),
      ...(out.ContentType ? { contentType: out.ContentType } : {}),
      ...(out.LastModified ? { lastModified: out.LastModified } : {}),
    };
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
    return this.call('presignGet', key, () => getSignedUrl(this.signer, command, { expiresIn: options.expiresInSeconds }));
  }

  async close(): Promise<void> {
    this.client.destroy();
    this.leanPut?.destroy();
    if (this.signer !== this.client) this.signer.destroy();
  }

  private call<T>(op: string, key: string, run: () => Promise<T>): Promise<T> {
    return mapErrors(run, (error) => mapS3Error(error, { store: this.name, op, key }));
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
    givenMd5?: () => Buffer,
  ): Promise<{ etag: string }> {
    // Hashed here only when the caller does not hash the body already (BodyOptions.md5).
    const meter = new ExactLength(size, { md5: givenMd5 === undefined });
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
    const sent = givenMd5 ? givenMd5().toString('hex') : meter.md5;
    if (!encrypted && /^[0-9a-f]{32}$/.test(etag) && etag !== sent) {
      throw unavailable('the backend stored bytes other than those sent', { reason: 'digest-mismatch', store: this.name, key });
    }
    return { etag };
  }
}
