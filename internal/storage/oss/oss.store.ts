/**
 * ObjectStore on Aliyun OSS through ali-oss 6.x.
 *
 * Layout: one bucket; a Stratus key is the OSS object name as is (no prefix added here). Multipart
 * uploads are OSS multipart uploads of that object name; nothing else is written.
 *
 * Vendor rules this driver keeps (OSS API reference):
 * - "The size of a single part ranges from 100 KB to 5 GB", "partNumber ... ranges from 1 to 10000",
 *   "Each part except the last must be at least 100 KB" — checked by OSS only at completion
 *   (EntityTooSmall), which leaves the upload open → BAD_INPUT { reason: 'part-too-small' }.
 *   ali-oss sorts the part list before sending it, so the ascending-order rule is checked here.
 * - "The name of an object ... cannot start with a forward slash (/) or a backslash (\)" and is
 *   1..1023 bytes; ali-oss would silently strip a leading "/", so such keys are refused here.
 * - Ranged GETs send `x-oss-range-behavior: standard`: without it OSS answers an unsatisfiable range
 *   with the whole object (200); with it, 416 InvalidRange.
 * - Requests are signed with V4 (OSS4-HMAC-SHA256, `authorizationV4: true`): OSS no longer accepts
 *   V1 from new accounts/buckets (since 2025-03/09). Presigned GETs use `signatureUrlV4`, whose
 *   validity OSS caps at 7 days.
 *
 * Bytes stream in both directions: a part or object body is piped into the HTTP request with its
 * Content-Length (ali-oss `_uploadPart` with `{ stream, size }`, `putStream` with `contentLength`)
 * through a guard that fails the request when the body is shorter or longer than declared; GETs
 * return the response stream. Nothing is buffered beyond stream high-water marks.
 */
import { Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import type OSS from 'ali-oss';
import { AppError, type ErrorReason } from '../../platform/errors.ts';
import { lazyModule } from '../../platform/lazy-module.ts';
import type {
  ByteRange, GetResult, MultipartUploadInfo, ObjectInfo, ObjectStore, PartInfo, PresignOptions, PutOptions, StoreCapabilities,
} from '../object-store.ts';
import { badInput, mapErrors, nullIfNotFound, unavailable } from '../support/storage.errors.ts';
import { unquote } from '../support/etag.ts';
import { guardLength } from '../support/exact-length.ts';
import { checkVendorKey } from '../support/keys.ts';
import { checkPartList, checkPartNumber, checkSize } from '../support/limits.ts';
import { getResultFromHeaders, infoFromHeaders } from '../support/object-headers.ts';
import { presignExpiry, responseOverrides } from '../support/presign.ts';
import { checkRange } from '../support/range.ts';
import { classifyHttpFailure, VENDOR_BAD_INPUT_REASONS } from '../support/vendor-errors.ts';

const loadOss = lazyModule<typeof OSS>('ali-oss');

export interface OssStoreOptions {
  name: string;
  /** Custom endpoint (`https://oss-cn-hangzhou.aliyuncs.com`, a bound domain, or a test server). */
  endpoint?: string;
  /** `cn-hangzhou` or `oss-cn-hangzhou`. */
  region: string;
  bucket: string;
  accessKeyId: string;
  accessKeySecret: string;
  secure?: boolean;
  /** The endpoint is a domain bound to the bucket (no `<bucket>.` host prefix). Default: the endpoint is not an aliyuncs.com host. */
  cname?: boolean;
  /** Base timeout per request; uploads add one second per MiB. Default 60 s. */
  timeoutMs?: number;
}

interface OssResponse {
  status: number;
  headers: Record<string, string | undefined>;
}

/** The part of ali-oss this driver uses, typed as the 6.23 sources behave (the bundled types are looser). */
interface OssClient {
  putStream(name: string, stream: Readable, options: { contentLength: number; mime?: string; timeout?: number }): Promise<{ res: OssResponse }>;
  put(name: string, file: Buffer, options: { mime?: string }): Promise<{ res: OssResponse }>;
  getStream(name: string, options: { headers: Record<string, string> }): Promise<{ stream: IncomingMessage; res: OssResponse }>;
  head(name: string): Promise<{ res: OssResponse }>;
  delete(name: string): Promise<unknown>;
  initMultipartUpload(name: string, options: { mime?: string }): Promise<{ uploadId: string }>;
  _uploadPart(name: string, uploadId: string, partNo: number, data: { size: number; stream: Readable }, options: { timeout?: number }): Promise<{ etag: string }>;
  listParts(name: string, uploadId: string, query: Record<string, string | number>): Promise<{ parts: unknown; isTruncated: unknown; nextPartNumberMarker: unknown }>;
  completeMultipartUpload(name: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ etag: string }>;
  abortMultipartUpload(name: string, uploadId: string): Promise<unknown>;
  listUploads(query: Record<string, string | number>): Promise<{ uploads: { name: string; uploadId: string; initiated?: string }[]; isTruncated: boolean; nextKeyMarker?: string; nextUploadIdMarker?: string }>;
  signatureUrlV4(method: 'GET', expires: number, request: { queries: Record<string, string> }, objectName: string): Promise<string>;
}

const MIB = 1024 * 1024;

export class OssObjectStore implements ObjectStore {
  readonly name: string;
  readonly type = 'oss' as const;
  readonly capabilities: StoreCapabilities = { minPartSize: 100 * 1024, maxPartSize: 5 * 1024 ** 3, maxParts: 10_000, presign: true };
  private readonly client: OssClient;
  private readonly agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  private readonly timeoutMs: number;

  constructor(options: OssStoreOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    const region = options.region.startsWith('oss-') ? options.region : `oss-${options.region}`;
    const host = options.endpoint?.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
    const cname = options.cname ?? (options.endpoint !== undefined && !/(^|\.)aliyuncs\.com(:\d+)?$/.test(host));
    const config: OSS.Options & Record<string, unknown> = {
      region,
      bucket: options.bucket,
      accessKeyId: options.accessKeyId,
      accessKeySecret: options.accessKeySecret,
      secure: options.secure ?? true,
      authorizationV4: true,
      cname,
      timeout: this.timeoutMs,
      agent: this.agents.http,
      httpsAgent: this.agents.https,
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    try {
      this.client = new (loadOss())(config) as unknown as OssClient;
    } catch (error) {
      throw badInput('invalid-config', `OSS store ${options.name}: ${(error as Error).message}`, error);
    }
  }

  async createMultipart(key: string, options: PutOptions = {}): Promise<string> {
    checkKey(key);
    const result = await this.call('createMultipart', key, () =>
      this.client.initMultipartUpload(key, { mime: options.contentType ?? 'application/octet-stream' }),
    );
    return result.uploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Readable, size: number): Promise<PartInfo> {
    checkKey(key);
    checkPartNumber(partNumber, this.capabilities.maxParts, 'invalid-argument');
    checkSize(size, this.capabilities.maxPartSize, 'too-large');
    const guarded = guardLength(body, size);
    const result = await this.call('uploadPart', key, () =>
      this.client._uploadPart(key, uploadId, partNumber, { size, stream: guarded.stream }, { timeout: this.uploadTimeout(size) }),
      guarded.failure,
    );
    return { partNumber, etag: unquote(result.etag), size };
  }

  async listParts(key: string, uploadId: string): Promise<PartInfo[]> {
    checkKey(key);
    const parts: PartInfo[] = [];
    let marker = 0;
    for (;;) {
      const query: Record<string, string | number> = { 'max-parts': 1000 };
      if (marker) query['part-number-marker'] = marker;
      const page = await this.call('listParts', key, () => this.client.listParts(key, uploadId, query));
      const list = (Array.isArray(page.parts) ? page.parts : page.parts ? [page.parts] : []) as { PartNumber: string; ETag: string; Size: string }[];
      for (const part of list) parts.push({ partNumber: Number(part.PartNumber), etag: unquote(part.ETag), size: Number(part.Size) });
      const next = Number(page.nextPartNumberMarker);
      if (String(page.isTruncated) !== 'true' || !next || next <= marker) break;
      marker = next;
    }
    return parts.sort((a, b) => a.partNumber - b.partNumber);
  }

  async completeMultipart(key: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<ObjectInfo> {
    checkKey(key);
    // ali-oss sorts and de-duplicates the list itself, so OSS would never see a wrong order: check here.
    checkPartList(parts);
    const list = parts.map((part) => ({ number: part.partNumber, etag: `"${unquote(part.etag)}"` }));
    await this.call('completeMultipart', key, () => this.client.completeMultipartUpload(key, uploadId, list));
    const info = await this.head(key);
    if (!info) throw unavailable(`OSS lost ${key} right after completing it`, { reason: 'backend_error' });
    return info;
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    checkKey(key);
    await this.call('abortMultipart', key, () => this.client.abortMultipartUpload(key, uploadId));
  }

  async listMultipartUploads(prefix = ''): Promise<MultipartUploadInfo[]> {
    const uploads: MultipartUploadInfo[] = [];
    let keyMarker = '';
    let uploadIdMarker = '';
    for (;;) {
      const query: Record<string, string | number> = { 'max-uploads': 1000 };
      if (prefix) query.prefix = prefix;
      if (keyMarker) query['key-marker'] = keyMarker;
      if (uploadIdMarker) query['upload-id-marker'] = uploadIdMarker;
      const page = await this.call('listMultipartUploads', prefix, () => this.client.listUploads(query));
      for (const upload of page.uploads) {
        const initiated = upload.initiated ? new Date(upload.initiated) : undefined;
        uploads.push({ key: upload.name, uploadId: upload.uploadId, ...(initiated ? { initiated } : {}) });
      }
      if (!page.isTruncated || !page.nextKeyMarker) break;
      keyMarker = page.nextKeyMarker;
      uploadIdMarker = page.nextUploadIdMarker ?? '';
    }
    return uploads;
  }

  async put(key: string, body: Readable, size: number, options: PutOptions = {}): Promise<ObjectInfo> {
    checkKey(key);
    if (size > this.capabilities.maxPartSize) {
      throw badInput('too-large', 'OSS PutObject takes at most 5 GiB; use multipart');
    }
    const contentType = options.contentType ?? 'application/octet-stream';
    const guarded = guardLength(body, size);
    const result = await this.call('put', key, async () => {
      // ali-oss sends a stream without contentLength (0 is falsy) chunked; an empty object goes as a Buffer.
      if (size === 0) {
        for await (const _chunk of guarded.stream) void _chunk;
        return this.client.put(key, Buffer.alloc(0), { mime: contentType });
      }
      return this.client.putStream(key, guarded.stream, { contentLength: size, mime: contentType, timeout: this.uploadTimeout(size) });
    }, guarded.failure);
    return { key, size, etag: unquote(ossHeader(result.res, 'etag')), contentType };
  }

  async get(key: string, range?: ByteRange): Promise<GetResult> {
    checkKey(key);
    const headers: Record<string, string> = { 'x-oss-range-behavior': 'standard' };
    if (range) {
      checkRange(range);
      headers.Range = `bytes=${range.start}-${range.end}`;
    }
    const result = await this.call('get', key, () => this.client.getStream(key, { headers }));
    const body = result.stream;
    body.on('error', () => undefined); // a reader still sees the error; an abandoned body must not crash the process
    return getResultFromHeaders(body, (name) => ossHeader(result.res, name));
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkKey(key);
    const result = await nullIfNotFound(this.call('head', key, () => this.client.head(key)));
    return result && infoFromHeaders(key, (name) => ossHeader(result.res, name));
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.call('delete', key, () => this.client.delete(key));
  }

  async presignGet(key: string, options: PresignOptions): Promise<string> {
    checkKey(key);
    const expires = presignExpiry(options.expiresInSeconds);
    const queries = responseOverrides(options);
    return this.call('presignGet', key, () => this.client.signatureUrlV4('GET', expires, { queries }, key));
  }

  async close(): Promise<void> {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private uploadTimeout(size: number): number {
    return this.timeoutMs + Math.ceil(size / MIB) * 1000;
  }

  /** Runs one SDK call; a body-length failure wins over whatever the aborted request reported. */
  private call<T>(operation: string, key: string, run: () => Promise<T>, bodyFailure?: () => AppError | null): Promise<T> {
    return mapErrors(run, (error) => bodyFailure?.() ?? toStoreError(error, operation, key));
  }
}

/** "The name of an object ... cannot start with a forward slash (/) or a backslash (\)", 1..1023 bytes. */
function checkKey(key: string): void {
  checkVendorKey(key, { vendor: 'OSS', maxBytes: 1023, leading: ['/', '\\'] });
}

function ossHeader(res: OssResponse, name: string): string | undefined {
  const value = res.headers[name];
  return value === undefined || value === '' ? undefined : String(value);
}

/** OSS error code -> contract reason, for requests OSS refuses as invalid. */
const BAD_INPUT_REASONS: Readonly<Record<string, ErrorReason>> = { ...VENDOR_BAD_INPUT_REASONS, InvalidDigest: 'digest-mismatch' };

/**
 * ali-oss errors carry `status` (-1 network, -2 timeout, else HTTP) and the OSS `code`. A 403 means
 * OSS refuses this store's credentials (or clock): an operator must act, so UNAVAILABLE 'backend_auth'.
 */
function toStoreError(error: unknown, operation: string, key: string): AppError {
  if (error instanceof AppError) return error;
  const e = (error ?? {}) as { status?: unknown; code?: unknown; requestId?: unknown; message?: unknown };
  const status = typeof e.status === 'number' ? e.status : -1;
  const code = typeof e.code === 'string' ? e.code : '';
  const failure = classifyHttpFailure(status > 0 ? status : undefined, code, BAD_INPUT_REASONS);
  return new AppError(failure.code, `OSS ${operation} ${key}: ${typeof e.message === 'string' ? e.message : failure.reason}`, {
    cause: error,
    details: {
      reason: failure.reason, operation, key, ...(status > 0 ? { status } : {}), ...(code ? { oss: code } : {}),
      ...(typeof e.requestId === 'string' ? { requestId: e.requestId } : {}),
    },
  });
}
