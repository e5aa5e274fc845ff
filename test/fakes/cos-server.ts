/**
 * A fake Tencent COS bucket for driver tests without internet: the object and multipart subset of
 * the COS XML API that cos-nodejs-sdk-v5 uses (routes in `fake-object-api.ts`), with COS's error
 * document (Code, Message, Resource, RequestId, TraceId) and `x-cos-request-id`, and request
 * signatures checked as COS documents them (`cos-signature.ts`): a request whose signature does not
 * verify gets 403 SignatureDoesNotMatch; an expired one 403 AccessDenied "Request has expired".
 *
 * COS rules it enforces ("Complete Multipart Upload", "Upload Part"):
 * - "每个分块大小为1MB - 5GB,最后一个分块可以小于1MB" / "If any uploaded part is smaller than 1 MB,
 *   400 EntityTooSmall will be returned" at completion (1 MB taken as 1 MiB = 1048576 bytes);
 *   parts not ascending → InvalidPartOrder; unknown part or ETag → InvalidPart; the upload stays open.
 * - "当 uploadId 不存在时将返回404错误,NoSuchUpload"; re-uploading a part number overwrites it.
 * - Unsatisfiable Range → 416 InvalidRange. ETags are quoted lower-case hex MD5.
 * Any Host is accepted: `/key` for a Domain endpoint, `/bucket/key` for ForcePathStyle.
 */
import type { FakeObjectApi } from './fake-object-api.ts';
import { startObjectApi } from './fake-object-api.ts';
import { keyOf, xmlDocument } from './fake-http.ts';
import { verifyCos } from './cos-signature.ts';

export interface FakeCosOptions {
  /** The SecretId. */
  accessKeyId: string;
  /** The SecretKey. */
  secret: string;
  /** `<name>-<appid>`, e.g. `stratus-1250000000`. */
  bucket: string;
}

export type FakeCos = FakeObjectApi;

export function startCosServer(options: FakeCosOptions): Promise<FakeCos> {
  const credentials = { secretId: options.accessKeyId, secretKey: options.secret };
  return startObjectApi(
    {
      bucket: options.bucket,
      requestIdHeader: 'x-cos-request-id',
      serverName: 'tencent-cos',
      minPartSize: 1024 * 1024,
      keyOf: (url) => keyOf(url, options.bucket),
      etag: (hex) => `"${hex.toLowerCase()}"`,
      authenticate: (req, _key, query) => {
        const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
        return verifyCos({ method: req.method ?? 'GET', path, query, headers: req.headers }, credentials);
      },
      errorDocument: ({ code, message, requestId, key }) =>
        xmlDocument('Error', {
          Code: code,
          Message: message,
          Resource: `${options.bucket}.cos.fake.myqcloud.com/${key}`,
          RequestId: requestId,
          TraceId: Buffer.from(requestId).toString('base64'),
        }),
      strictRange: () => true,
      objectHeaders: (object) => ({
        'Content-Type': object.contentType,
        ETag: object.etag,
        'Last-Modified': object.lastModified.toUTCString(),
        'Accept-Ranges': 'bytes',
        'x-cos-storage-class': 'STANDARD',
      }),
    },
    'fake-cos-',
  );
}
