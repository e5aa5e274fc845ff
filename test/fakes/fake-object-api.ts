/**
 * The object and multipart routes OSS and COS share (both follow the S3 REST shape), over node:http
 * and a file-backed `FakeBucket`. A vendor profile (`oss-server.ts`, `cos-server.ts`) supplies what
 * differs: authentication, error document, request-id header, ETag case, minimum part size, and
 * how an unsatisfiable Range is answered.
 *
 * Routes: PutObject, GetObject (Range → 206 + Content-Range, response-* overrides), HeadObject,
 * DeleteObject (204 even when missing), InitiateMultipartUpload, UploadPart (partNumber 1..10000,
 * ETag = quoted MD5, last write wins), ListParts, CompleteMultipartUpload (InvalidPartOrder,
 * InvalidPart, EntityTooSmall; the upload stays open on failure), AbortMultipartUpload,
 * ListMultipartUploads (prefix, key/upload-id markers, max-uploads).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkCompletion, FakeBucket, IncompleteBodyError, multipartEtag, type ReceivedBody, type StoredObject } from './fake-bucket.ts';
import { parseCompleteBody, parseRange, rawQuery, readSmallBody, requestId, send, sendStream, xmlDocument, type XmlNode } from './fake-http.ts';

export type Query = [string, string | null][];
export type AuthResult = { ok: true } | { ok: false; status: number; code: string; message: string; extra?: XmlNode };

export interface VendorProfile {
  bucket: string;
  requestIdHeader: string;
  serverName: string;
  minPartSize: number;
  /** The object key a request path names (path-style or virtual-host). */
  keyOf(url: string): string;
  /** `"<hex>"` in the vendor's case. */
  etag(hexMd5: string): string;
  authenticate(req: IncomingMessage, key: string, query: Query): AuthResult;
  errorDocument(error: { code: string; message: string; requestId: string; key: string; extra: XmlNode }): string;
  /** Extra headers on an error reply to a HEAD (which has no body). */
  headErrorHeaders?(document: string): Record<string, string>;
  /** Whether an unsatisfiable Range is 416 (else the whole object, 200). */
  strictRange(req: IncomingMessage): boolean;
  objectHeaders(object: StoredObject): Record<string, string>;
}

export interface FakeObjectApi {
  endpoint: string;
  bucket: FakeBucket;
  /** Every request seen, with its authentication scheme and reply status. */
  log: { method: string; url: string; auth: string; status: number }[];
  close(): Promise<void>;
}

const MAX_PART = 5 * 1024 ** 3;
const MALFORMED = 'The XML you provided was not well-formed or did not validate against our published schema.';

export async function startObjectApi(profile: VendorProfile, tempPrefix: string): Promise<FakeObjectApi> {
  const bucket = await FakeBucket.create(tempPrefix);
  const log: FakeObjectApi['log'] = [];
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('fake object API: unexpected failure', error);
      res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = requestId();
    const url = req.url ?? '/';
    const method = req.method ?? 'GET';
    const key = profile.keyOf(url);
    const query = rawQuery(url);
    const has = (name: string) => query.some(([k]) => k === name);
    const param = (name: string) => query.find(([k]) => k === name)?.[1] ?? undefined;
    const entry = { method, url, auth: String(req.headers.authorization ?? 'query').split(/[ &]/)[0] ?? '', status: 0 };
    log.push(entry);
    const base = { [profile.requestIdHeader]: id, Server: profile.serverName, Date: new Date().toUTCString() };
    const reply = (status: number, headers: Record<string, string | number>, body?: string) => {
      entry.status = status;
      return send(req, res, status, { ...base, ...headers }, body);
    };
    const xml = (root: string, node: XmlNode) => reply(200, { 'Content-Type': 'application/xml' }, xmlDocument(root, node));
    const fail = (status: number, code: string, message: string, extra: XmlNode = {}) => {
      const document = profile.errorDocument({ code, message, requestId: id, key, extra });
      const headExtra = method === 'HEAD' ? (profile.headErrorHeaders?.(document) ?? {}) : {};
      return reply(status, { 'Content-Type': 'application/xml', ...headExtra }, document);
    };

    const auth = profile.authenticate(req, key, query);
    if (!auth.ok) return fail(auth.status, auth.code, auth.message, auth.extra);

    const noSuchUpload = () =>
      fail(404, 'NoSuchUpload', 'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.', { UploadId: param('uploadId') ?? '' });
    const openUpload = () => {
      const upload = bucket.uploads.get(param('uploadId') ?? '');
      return upload && upload.key === key ? upload : undefined;
    };
    const receive = async (): Promise<ReceivedBody | null> => {
      try {
        const body = await bucket.receive(req);
        const md5 = req.headers['content-md5'];
        if (md5 !== undefined && md5 !== body.md5.toString('base64')) {
          await bucket.discard(body);
          await fail(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
          return null;
        }
        return body;
      } catch (error) {
        if (!(error instanceof IncompleteBodyError)) throw error;
        await fail(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.');
        return null;
      }
    };

    if (key === '') {
      if (method === 'GET' && has('uploads')) return listUploads(query, xml);
      return fail(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
    const contentType = req.headers['content-type'] || 'application/octet-stream';

    switch (method) {
      case 'PUT': {
        if (has('partNumber') || has('uploadId')) {
          const partNumber = Number(param('partNumber'));
          if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
            return fail(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive.', { ArgumentName: 'partNumber', ArgumentValue: param('partNumber') ?? '' });
          }
          const upload = openUpload();
          if (!upload) return noSuchUpload();
          if (Number(req.headers['content-length'] ?? 0) > MAX_PART) return fail(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.');
          const body = await receive();
          if (!body) return;
          if (!bucket.uploads.has(upload.uploadId)) {
            await bucket.discard(body);
            return noSuchUpload();
          }
          const part = await bucket.putPart(upload, partNumber, body, profile.etag(body.md5.toString('hex')));
          return reply(200, { ETag: part.etag });
        }
        const body = await receive();
        if (!body) return;
        const object = await bucket.putObject(key, body, profile.etag(body.md5.toString('hex')), contentType);
        return reply(200, { ETag: object.etag });
      }
      case 'POST': {
        if (has('uploads')) {
          const upload = bucket.createUpload(key, contentType);
          return xml('InitiateMultipartUploadResult', { Bucket: profile.bucket, Key: key, UploadId: upload.uploadId });
        }
        if (!has('uploadId')) return fail(400, 'InvalidArgument', 'Unsupported POST request.');
        const upload = openUpload();
        if (!upload) return noSuchUpload();
        const requested = parseCompleteBody(await readSmallBody(req));
        if (!requested) return fail(400, 'MalformedXML', MALFORMED);
        const check = checkCompletion(upload, requested, profile.minPartSize);
        if (!check.ok) return fail(400, check.code, check.message, { UploadId: upload.uploadId });
        const object = await bucket.completeUpload(upload, check.parts, profile.etag(multipartEtag(check.parts)));
        res.setHeader('ETag', object.etag);
        return xml('CompleteMultipartUploadResult', { Location: `http://${String(req.headers.host)}/${key}`, Bucket: profile.bucket, Key: key, ETag: object.etag });
      }
      case 'GET': {
        if (has('uploadId')) {
          const upload = openUpload();
          if (!upload) return noSuchUpload();
          const maxParts = Math.min(Number(param('max-parts')) || 1000, 1000);
          const marker = Number(param('part-number-marker')) || 0;
          const all = [...upload.parts.values()].filter((p) => p.partNumber > marker).sort((a, b) => a.partNumber - b.partNumber);
          const page = all.slice(0, maxParts);
          return xml('ListPartsResult', {
            Bucket: profile.bucket,
            Key: key,
            UploadId: upload.uploadId,
            PartNumberMarker: marker,
            NextPartNumberMarker: page.at(-1)?.partNumber ?? marker,
            MaxParts: maxParts,
            IsTruncated: all.length > page.length,
            Part: page.map((p) => ({ PartNumber: p.partNumber, LastModified: p.lastModified.toISOString(), ETag: p.etag, Size: p.size })),
          });
        }
        const object = bucket.objects.get(key);
        if (!object) return fail(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        let range = parseRange(req.headers.range, object.size);
        if (range === 'unsatisfiable' && profile.strictRange(req)) {
          return fail(416, 'InvalidRange', 'The requested range cannot be satisfied.', { ActualObjectSize: object.size });
        }
        if (range === 'unsatisfiable') range = 'none';
        const headers: Record<string, string | number> = { ...base, ...profile.objectHeaders(object) };
        for (const [k, v] of query) if (k.startsWith('response-') && v !== null) headers[headerName(k.slice(9))] = v;
        entry.status = range === 'none' ? 200 : 206;
        if (range === 'none') {
          return sendStream(res, 200, { ...headers, 'Content-Length': object.size }, object.size ? bucket.read(object, 0, object.size - 1) : null);
        }
        headers['Content-Length'] = range.end - range.start + 1;
        headers['Content-Range'] = `bytes ${range.start}-${range.end}/${object.size}`;
        return sendStream(res, 206, headers, bucket.read(object, range.start, range.end));
      }
      case 'HEAD': {
        const object = bucket.objects.get(key);
        if (!object) return fail(404, 'NoSuchKey', 'The specified key does not exist.', { Key: key });
        return reply(200, { ...profile.objectHeaders(object), 'Content-Length': object.size });
      }
      case 'DELETE': {
        if (has('uploadId')) {
          const upload = openUpload();
          if (!upload) return noSuchUpload();
          await bucket.abortUpload(upload);
          return reply(204, {});
        }
        await bucket.deleteObject(key);
        return reply(204, {});
      }
      default:
        return fail(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
    }
  }

  function listUploads(query: Query, xml: (root: string, node: XmlNode) => Promise<void>): Promise<void> {
    const param = (name: string) => query.find(([k]) => k === name)?.[1] ?? '';
    const prefix = param('prefix');
    const keyMarker = param('key-marker');
    const uploadIdMarker = param('upload-id-marker');
    const maxUploads = Math.min(Number(param('max-uploads')) || 1000, 1000);
    let all = bucket.listUploads(prefix);
    if (keyMarker) {
      const at = uploadIdMarker ? all.findIndex((u) => u.key === keyMarker && u.uploadId === uploadIdMarker) : -1;
      all = at >= 0 ? all.slice(at + 1) : all.filter((u) => u.key > keyMarker);
    }
    const page = all.slice(0, maxUploads);
    return xml('ListMultipartUploadsResult', {
      Bucket: profile.bucket,
      KeyMarker: keyMarker,
      UploadIdMarker: uploadIdMarker,
      NextKeyMarker: page.at(-1)?.key ?? '',
      NextUploadIdMarker: page.at(-1)?.uploadId ?? '',
      Delimiter: '',
      Prefix: prefix,
      MaxUploads: maxUploads,
      IsTruncated: all.length > page.length,
      Upload: page.map((u) => ({ Key: u.key, UploadId: u.uploadId, StorageClass: 'STANDARD', Initiated: u.initiated.toISOString() })),
    });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    log,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await bucket.close();
    },
  };
}

/** `content-disposition` → `Content-Disposition`. */
function headerName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
