/**
 * ObjectStore on Tencent COS through cos-nodejs-sdk-v5 3.x.
 *
 * Layout: one bucket (`<name>-<appid>`); a Stratus key is the COS object key as is. Multipart
 * uploads are COS multipart uploads of that key; nothing else is written.
 *
 * Vendor rules this driver keeps (COS XML API reference):
 * - Upload Part: "最多支持10000分块,每个分块大小为1MB - 5GB,最后一个分块可以小于1MB"; Complete
 *   Multipart Upload: "If any uploaded part is smaller than 1 MB, 400 EntityTooSmall" (the upload
 *   stays open) → BAD_INPUT 'part-too-small'. minPartSize is 1 MiB, the safe reading of "1MB".
 * - "当 uploadId 不存在时将返回404错误,NoSuchUpload" → NOT_FOUND.
 * - Object keys are at most 850 bytes; the SDK strips a leading "/" (UseRawKey false), so such keys
 *   are refused here rather than silently renamed.
 * - Requests are signed by the SDK with the COS "q-sign-algorithm=sha1" scheme, Host included.
 *
 * Bytes stream in both directions. Uploads pass the body to the SDK as a stream with ContentLength
 * (it pipes it into the request) through a guard that fails the request when the body is shorter or
 * longer than declared. Downloads do not use `getObjectStream`: it hands back a PassThrough before
 * the status and headers are known and pipes error bodies into it, so `get` fetches an SDK-presigned
 * URL with node:http and returns the response stream once its status and Content-Range are read.
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { pipeline, type Readable, Transform } from 'node:stream';
import COS from 'cos-nodejs-sdk-v5';
import { AppError, type ErrorCode } from '../../platform/errors.ts';
import type {
  ByteRange, GetResult, MultipartUploadInfo, ObjectInfo, ObjectStore, PartInfo, PresignOptions, PutOptions, StoreCapabilities,
} from '../object-store.ts';

export interface CosStoreOptions {
  name: string;
  /** Custom endpoint (`https://cos.ap-guangzhou.myqcloud.com`-style domain bound to the bucket, or a test server). */
  endpoint?: string;
  /** e.g. `ap-guangzhou`. */
  region: string;
  /** `<name>-<appid>`, e.g. `stratus-1250000000`. */
  bucket: string;
  secretId: string;
  secretKey: string;
  /** Socket idle timeout per request. Default 60 s. */
  timeoutMs?: number;
}

const MAX_KEY_BYTES = 850;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

export class CosObjectStore implements ObjectStore {
  readonly name: string;
  readonly type = 'cos' as const;
  readonly capabilities: StoreCapabilities = { minPartSize: 1024 * 1024, maxPartSize: 5 * 1024 ** 3, maxParts: 10_000, presign: true };
  private readonly cos: COS;
  private readonly target: { Bucket: string; Region: string };
  private readonly timeoutMs: number;
  private readonly agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  constructor(options: CosStoreOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.target = { Bucket: options.bucket, Region: options.region };
    const config: COS.COSOptions = {
      SecretId: options.secretId,
      SecretKey: options.secretKey,
      Timeout: this.timeoutMs,
      KeepAlive: true,
      // Retries must not move to the SDK's backup *.tencentcos.cn host behind our back.
      AutoSwitchHost: false,
    };
    if (options.endpoint !== undefined) {
      const url = new URL(/^[a-z]+:\/\//i.test(options.endpoint) ? options.endpoint : `https://${options.endpoint}`);
      config.Domain = url.host;
      config.Protocol = url.protocol as 'http:' | 'https:';
    }
    this.cos = new COS(config);
  }

  async createMultipart(key: string, options: PutOptions = {}): Promise<string> {
    checkKey(key);
    const data = await this.call('createMultipart', key, () =>
      this.cos.multipartInit({ ...this.target, Key: key, ContentType: options.contentType ?? 'application/octet-stream' }),
    );
    return data.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number): Promise<PartInfo> {
    checkKey(key);
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > this.capabilities.maxParts) {
      throw badInput('invalid-argument', `Part numbers run from 1 to ${this.capabilities.maxParts}`);
    }
    if (!Number.isInteger(size) || size < 0 || size > this.capabilities.maxPartSize) throw badInput('too-large', 'A part is at most 5 GiB');
    const guarded = guardLength(body, size);
    const data = await this.call('uploadPart', key, () =>
      this.cos.multipartUpload({ ...this.target, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: guarded.stream, ContentLength: size }),
      guarded.failure,
    );
    return { partNumber, etag: unquote(data.ETag), size };
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    checkKey(key);
    const parts: PartInfo[] = [];
    let marker = '';
    for (;;) {
      const page = await this.call('listParts', key, () =>
        this.cos.multipartListPart({ ...this.target, Key: key, UploadId: uploadId, MaxParts: 1000, ...(marker ? { PartNumberMarker: marker } : {}) }),
      );
      for (const part of page.Part) parts.push({ partNumber: Number(part.PartNumber), etag: unquote(part.ETag), size: Number(part.Size) });
      const next = String(page.NextPartNumberMarker ?? '');
      if (String(page.IsTruncated) !== 'true' || !next || next === marker) break;
      marker = next;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    checkKey(key);
    if (parts.length === 0) throw badInput('no-parts', 'No parts to complete');
    const list = parts.map((part) => ({ PartNumber: part.partNumber, ETag: `"${unquote(part.etag)}"` }));
    await this.call('completeMultipart', key, () => this.cos.multipartComplete({ ...this.target, Key: key, UploadId: uploadId, Parts: list }));
    const info = await this.head(key);
    if (!info) throw new AppError('UNAVAILABLE', `COS lost ${key} right after completing it`, { details: { reason: 'backend_error' } });
    return info;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    checkKey(key);
    await this.call('abortMultipart', key, () => this.cos.multipartAbort({ ...this.target, Key: key, UploadId: uploadId }));
  }

  async listMultipartUploads(prefix = ''): Promise<MultipartUploadInfo[]> {
    const uploads: MultipartUploadInfo[] = [];
    let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
    for (;;) {
      const page = await this.call('listMultipartUploads', prefix, () =>
        // No Delimiter (the bundled types require one; the SDK drops undefined parameters).
        this.cos.multipartList({ ...this.target, Prefix: prefix, MaxUploads: 1000, ...markers } as COS.MultipartListParams),
      );
      for (const upload of page.Upload) {
        uploads.push({ key: upload.Key, uploadId: upload.UploadId, ...(upload.Initiated ? { initiated: new Date(upload.Initiated) } : {}) });
      }
      if (String(page.IsTruncated) !== 'true' || !page.NextKeyMarker) break;
      markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
    }
    return uploads;
  }

  async put(key: string, body: Readable, size: number, options: PutOptions = {}): Promise<ObjectInfo> {
    checkKey(key);
    if (size > this.capabilities.maxPartSize) throw badInput('too-large', 'COS PutObject takes at most 5 GiB; use multipart');
    const contentType = options.contentType ?? 'application/octet-stream';
    const guarded = guardLength(body, size);
    const data = await this.call('put', key, () =>
      this.cos.putObject({ ...this.target, Key: key, Body: guarded.stream, ContentLength: size, ContentType: contentType }),
      guarded.failure,
    );
    return { key, size, etag: unquote(data.ETag), contentType };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    checkKey(key);
    if (range && (!Number.isInteger(range.start) || !Number.isInteger(range.end) || range.start < 0 || range.end < range.start)) {
      throw badInput('invalid-range', 'A range needs integers 0 <= start <= end');
    }
    const url = await this.signedUrl(key, 300, {});
    const res = await this.fetch(url, range ? { Range: `bytes=${range.start}-${range.end}` } : {}).catch((error: unknown) => {
      throw toStoreError(error, 'get', key);
    });
    const status = res.statusCode ?? 0;
    if (status !== 200 && status !== 206) throw toStoreError(await errorOf(res), 'get', key);
    const contentLength = Number(res.headers['content-length']);
    const total = /\/(\d+)$/.exec(res.headers['content-range'] ?? '')?.[1];
    return { body: res, size: total !== undefined ? Number(total) : contentLength, contentLength, etag: unquote(res.headers.etag) };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkKey(key);
    try {
      const { headers = {} } = (await this.cos.headObject({ ...this.target, Key: key })) as { headers?: Record<string, string | undefined> };
      const modified = headers['last-modified'];
      const contentType = headers['content-type'];
      return {
        key,
        size: Number(headers['content-length']),
        etag: unquote(headers.etag),
        ...(contentType ? { contentType } : {}),
        ...(modified ? { lastModified: new Date(modified) } : {}),
      };
    } catch (error) {
      const mapped = toStoreError(error, 'head', key);
      if (mapped.code === 'NOT_FOUND') return null;
      throw mapped;
    }
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.call('delete', key, () => this.cos.deleteObject({ ...this.target, Key: key }));
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    checkKey(key);
    const expires = Math.ceil(options.expiresInSeconds);
    if (!(expires > 0 && expires <= MAX_PRESIGN_SECONDS)) throw badInput('invalid-expiry', 'Presigned URLs last 1 s to 7 days');
    const query: Record<string, string> = {};
    if (options.downloadName !== undefined) query['response-content-disposition'] = attachmentDisposition(options.downloadName);
    if (options.contentType !== undefined) query['response-content-type'] = options.contentType;
    return this.signedUrl(key, expires, query);
  }

  async close(): Promise<void> {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** getObjectUrl signs locally (SecretId/SecretKey), so the callback form never waits on the network. */
  private signedUrl(key: string, expires: number, query: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
      this.cos.getObjectUrl({ ...this.target, Key: key, Sign: true, Expires: expires, Query: query }, (error, data) => {
        if (error) reject(toStoreError(error, 'presignGet', key));
        else resolve(data.Url);
      });
    });
  }

  /** A GET whose response is returned as soon as its headers arrive; the idle timeout stops there. */
  private fetch(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
    const secure = url.startsWith('https:');
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, { headers, agent: secure ? this.agents.https : this.agents.http, timeout: this.timeoutMs });
      req.on('timeout', () => req.destroy(Object.assign(new Error('COS response timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.on('response', (res) => {
        req.setTimeout(0);
        resolve(res);
      });
      req.end();
    });
  }

  /** Runs one SDK call; a body-length failure wins over whatever the aborted request reported. */
  private async call<T>(operation: string, key: string, run: () => Promise<T>, bodyFailure?: () => AppError | null): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw bodyFailure?.() ?? toStoreError(error, operation, key);
    }
  }
}

function checkKey(key: string): void {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0 || bytes > MAX_KEY_BYTES || key.startsWith('/')) {
    throw badInput('invalid-key', `COS object keys are 1..${MAX_KEY_BYTES} bytes and do not start with /`);
  }
}

function badInput(reason: string, message: string, cause?: unknown): AppError {
  return new AppError('BAD_INPUT', message, { details: { reason }, ...(cause === undefined ? {} : { cause }) });
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

/**
 * Passes `body` through unchanged while counting; errors the stream (which aborts the HTTP request, so
 * COS records nothing) as soon as it runs past `size`, or ends short of it.
 */
function guardLength(body: Readable, size: number): { stream: Readable; failure: () => AppError | null } {
  let seen = 0;
  let failure: AppError | null = null;
  const mismatch = (message: string) =>
    (failure = new AppError('BAD_INPUT', message, { details: { reason: 'size-mismatch', expected: size, received: seen } }));
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > size) done(mismatch(`Body is longer than the declared ${size} bytes`));
      else done(null, chunk);
    },
    flush(done) {
      done(seen === size ? null : mismatch(`Body ended after ${seen} of ${size} bytes`));
    },
  });
  pipeline(body, guard, (error) => {
    if (error && !failure) failure = badInput('body-failed', 'The upload body failed', error);
  });
  return { stream: guard, failure: () => failure };
}

/** RFC 6266 / 5987: `attachment; filename*=UTF-8''<percent-encoded>`. */
function attachmentDisposition(name: string): string {
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
}

/** The COS error document of a failed GET, as the SDK would have parsed it (status, Code, RequestId). */
async function errorOf(res: IncomingMessage): Promise<{ statusCode: number; code: string; error: { RequestId?: string } }> {
  let text = '';
  for await (const chunk of res) if (text.length < 64 * 1024) text += String(chunk);
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  return { statusCode: res.statusCode ?? 0, code: field('Code') ?? String(res.statusCode), error: { RequestId: field('RequestId') ?? '' } };
}

/** COS error code -> contract reason, for requests COS refuses as invalid. */
const BAD_INPUT_REASONS: Record<string, string> = {
  EntityTooSmall: 'part-too-small',
  EntityTooLarge: 'too-large',
  InvalidPart: 'invalid-part',
  InvalidPartOrder: 'part-order',
  InvalidRange: 'range-not-satisfiable',
  InvalidArgument: 'invalid-argument',
  MalformedXML: 'malformed-request',
  BadDigest: 'digest-mismatch',
  IncompleteBody: 'size-mismatch',
};

/**
 * SDK errors carry `statusCode` (absent for socket failures, whose `code` is the errno) and the COS
 * `code`. A 403 means COS refuses this store's credentials (or clock): an operator must act, so
 * UNAVAILABLE 'backend_auth' rather than the user's FORBIDDEN.
 */
function toStoreError(error: unknown, operation: string, key: string): AppError {
  if (error instanceof AppError) return error;
  const e = (error ?? {}) as { statusCode?: unknown; code?: unknown; message?: unknown; error?: { RequestId?: unknown } };
  const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
  const code = typeof e.code === 'string' ? e.code : '';
  const requestId = typeof e.error?.RequestId === 'string' && e.error.RequestId ? { requestId: e.error.RequestId } : {};
  const make = (appCode: ErrorCode, reason: string) =>
    new AppError(appCode, `COS ${operation} ${key}: ${typeof e.message === 'string' && e.message ? e.message : code || reason}`, {
      cause: error,
      details: { reason, operation, key, ...(status ? { status } : {}), ...(code ? { cos: code } : {}), ...requestId },
    });
  if (!status) return make('UNAVAILABLE', 'backend_unreachable');
  if (status >= 500 || status === 429) return make('UNAVAILABLE', 'backend_error');
  if (status === 401 || status === 403) return make('UNAVAILABLE', code === 'RequestTimeTooSkewed' ? 'clock_skew' : 'backend_auth');
  if (status === 404) return code === 'NoSuchBucket' ? make('UNAVAILABLE', 'no_such_bucket') : make('NOT_FOUND', code === 'NoSuchUpload' ? 'no-such-upload' : 'no-such-key');
  if (status === 416) return make('BAD_INPUT', 'range-not-satisfiable');
  return make('BAD_INPUT', BAD_INPUT_REASONS[code] ?? 'refused');
}
