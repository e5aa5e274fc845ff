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
import type { Readable } from 'node:stream';
import type COS from 'cos-nodejs-sdk-v5';
import { AppError } from '../../platform/errors.ts';
import { lazyModule } from '../../platform/lazy-module.ts';
import type {
  ByteRange, GetResult, MultipartUploadInfo, ObjectInfo, ObjectStore, PartInfo, PresignOptions, PutOptions, StoreCapabilities,
} from '../object-store.ts';
import { badInput, mapErrors, nullIfNotFound, unavailable } from '../support/storage.errors.ts';
import { unquote } from '../support/etag.ts';
import { guardLength } from '../support/exact-length.ts';
import { checkVendorKey } from '../support/keys.ts';
import { checkPartNumber, checkSize } from '../support/limits.ts';
import { getResultFromHeaders, infoFromHeaders } from '../support/object-headers.ts';
import { presignExpiry, responseOverrides } from '../support/presign.ts';
import { checkRange } from '../support/range.ts';
import { classifyHttpFailure } from '../support/vendor-errors.ts';

const loadCos = lazyModule<typeof COS>('cos-nodejs-sdk-v5');

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
    this.cos = new (loadCos())(config);
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
    checkPartNumber(partNumber, this.capabilities.maxParts, 'invalid-argument');
    checkSize(size, this.capabilities.maxPartSize, 'too-large');
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
    // The order of the list is left to COS (400 InvalidPartOrder).
    if (parts.length === 0) throw badInput('no-parts', 'a multipart upload needs at least one part');
    const list = parts.map((part) => ({ PartNumber: part.partNumber, ETag: `"${unquote(part.etag)}"` }));
    await this.call('completeMultipart', key, () => this.cos.multipartComplete({ ...this.target, Key: key, UploadId: uploadId, Parts: list }));
    const info = await this.head(key);
    if (!info) throw unavailable(`COS lost ${key} right after completing it`, { reason: 'backend_error' });
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
    if (range) checkRange(range);
    const url = await this.signedUrl(key, 300, {});
    const res = await this.fetch(url, range ? { Range: `bytes=${range.start}-${range.end}` } : {}).catch((error: unknown) => {
      throw toStoreError(error, 'get', key);
    });
    const status = res.statusCode ?? 0;
    if (status !== 200 && status !== 206) throw toStoreError(await errorOf(res), 'get', key);
    return getResultFromHeaders(res, (name) => {
      const value = res.headers[name];
      return typeof value === 'string' ? value : undefined;
    });
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkKey(key);
    const data = await nullIfNotFound(this.call('head', key, () => this.cos.headObject({ ...this.target, Key: key })));
    if (!data) return null;
    const { headers = {} } = data as { headers?: Record<string, string | undefined> };
    return infoFromHeaders(key, (name) => headers[name]);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.call('delete', key, () => this.cos.deleteObject({ ...this.target, Key: key }));
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    checkKey(key);
    return this.signedUrl(key, presignExpiry(options.expiresInSeconds), responseOverrides(options));
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
  private call<T>(operation: string, key: string, run: () => Promise<T>, bodyFailure?: () => AppError | null): Promise<T> {
    return mapErrors(run, (error) => bodyFailure?.() ?? toStoreError(error, operation, key));
  }
}

/** COS object keys are at most 850 bytes; the SDK would strip a leading "/". */
function checkKey(key: string): void {
  checkVendorKey(key, { vendor: 'COS', maxBytes: 850, leading: ['/'] });
}

/** The COS error document of a failed GET, as the SDK would have parsed it (status, Code, RequestId). */
async function errorOf(res: IncomingMessage): Promise<{ statusCode: number; code: string; error: { RequestId?: string } }> {
  let text = '';
  for await (const chunk of res) if (text.length < 64 * 1024) text += String(chunk);
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];
  return { statusCode: res.statusCode ?? 0, code: field('Code') ?? String(res.statusCode), error: { RequestId: field('RequestId') ?? '' } };
}

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
  const failure = classifyHttpFailure(status || undefined, code);
  return new AppError(failure.code, `COS ${operation} ${key}: ${typeof e.message === 'string' && e.message ? e.message : code || failure.reason}`, {
    cause: error,
    details: { reason: failure.reason, operation, key, ...(status ? { status } : {}), ...(code ? { cos: code } : {}), ...requestId },
  });
}
