/**
 * A fake Aliyun OSS bucket for driver tests without internet: the object and multipart subset of the
 * OSS REST API that ali-oss uses (routes in `fake-object-api.ts`), with OSS's error document and
 * `x-oss-request-id`, and authentication as OSS documents it (V1 and V4 headers and presigned URLs,
 * `oss-signature.ts`): a request whose signature does not verify gets 403 SignatureDoesNotMatch.
 *
 * OSS rules it enforces:
 * - "The size of a single part ranges from 100 KB to 5 GB ... OSS does not verify part sizes during
 *   UploadPart ... Each part except the last must be at least 100 KB" → EntityTooSmall at completion.
 * - GetObject with an unsatisfiable Range returns the whole object (200) unless the request carries
 *   `x-oss-range-behavior: standard`, which makes it 416 InvalidRange.
 * - A HEAD error has no body; the error document goes base64 in `x-oss-err`.
 * - ETags are quoted upper-case hex MD5 ("<md5 of part md5s>-N" for multipart objects).
 * Any Host is accepted: path-style `/bucket/key`, or `/key` for cname and IP endpoints.
 */
import type { FakeObjectApi } from './fake-object-api.ts';
import { startObjectApi } from './fake-object-api.ts';
import { keyOf, xmlDocument } from './fake-http.ts';
import { verifyOss } from './oss-signature.ts';

export interface FakeOssOptions {
  accessKeyId: string;
  secret: string;
  bucket: string;
  /** Standard region id the V4 credential scope must name; default cn-hangzhou. */
  region?: string;
}

export type FakeOss = FakeObjectApi;

export function startOssServer(options: FakeOssOptions): Promise<FakeOss> {
  const region = options.region ?? 'cn-hangzhou';
  const credentials = { accessKeyId: options.accessKeyId, secret: options.secret, region };
  return startObjectApi(
    {
      bucket: options.bucket,
      requestIdHeader: 'x-oss-request-id',
      serverName: 'AliyunOSS',
      minPartSize: 100 * 1024,
      keyOf: (url) => keyOf(url, options.bucket),
      etag: (hex) => `"${hex.toUpperCase()}"`,
      authenticate: (req, key, query) =>
        verifyOss({ method: req.method ?? 'GET', bucket: options.bucket, key, query, headers: req.headers }, credentials),
      errorDocument: ({ code, message, requestId, extra }) =>
        xmlDocument('Error', { Code: code, Message: message, RequestId: requestId, HostId: `${options.bucket}.oss-${region}.aliyuncs.com`, ...extra }),
      headErrorHeaders: (document) => ({ 'x-oss-err': Buffer.from(document).toString('base64') }),
      strictRange: (req) => req.headers['x-oss-range-behavior'] === 'standard',
      objectHeaders: (object) => ({
        'Content-Type': object.contentType,
        ETag: object.etag,
        'Last-Modified': object.lastModified.toUTCString(),
        'Accept-Ranges': 'bytes',
        'x-oss-object-type': object.multipart ? 'Multipart' : 'Normal',
        'x-oss-storage-class': 'Standard',
      }),
    },
    'fake-oss-',
  );
}
