/**
 * Tencent COS request authentication ("请求签名", XML API), as the fake COS server checks it, for
 * the `Authorization` header and for presigned URLs (the same fields in the query string):
 *
 *   q-sign-algorithm=sha1&q-ak=<SecretId>&q-sign-time=<start>;<end>&q-key-time=<start>;<end>
 *   &q-header-list=<h1;h2>&q-url-param-list=<p1;p2>&q-signature=<hex>
 *
 *   SignKey      = hex(HMAC-SHA1(SecretKey, KeyTime))
 *   HttpString   = method(lower) \n path(decoded) \n HttpParameters \n HttpHeaders \n
 *                  (listed names, lower-case, sorted; "name=" + UrlEncode(value), joined with &)
 *   StringToSign = "sha1" \n SignTime \n hex(SHA1(HttpString)) \n
 *   Signature    = hex(HMAC-SHA1(SignKey, StringToSign))
 *
 * cos-nodejs-sdk-v5 3.x (sdk/util.js getAuth) computes exactly this, signing Host and every query
 * parameter it sends. This verifier also insists that every query parameter of the request (other
 * than the q-* fields) is signed, so a parameter added to a presigned URL is refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface CosAuthInput {
  method: string;
  /** Decoded request path, e.g. `/dir/a b.txt`. */
  path: string;
  query: [string, string | null][];
  headers: IncomingHttpHeaders;
}

export interface CosCredentials {
  secretId: string;
  secretKey: string;
}

export type CosAuthResult = { ok: true } | { ok: false; status: number; code: string; message: string };

const AUTH_FIELDS = ['q-sign-algorithm', 'q-ak', 'q-sign-time', 'q-key-time', 'q-header-list', 'q-url-param-list', 'q-signature'];
const UNSIGNED_PARAMS = new Set([...AUTH_FIELDS, 'x-cos-security-token']);

/** encodeURIComponent plus !'()* (the SDK's camSafeUrlEncode). */
const encode = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const denied = (code: string, message: string, status = 403): CosAuthResult => ({ ok: false, status, code, message });

export function verifyCos(input: CosAuthInput, creds: CosCredentials, now = new Date()): CosAuthResult {
  const header = input.headers.authorization;
  const fields = new Map<string, string>();
  if (header) {
    for (const pair of header.split('&')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  } else {
    for (const [k, v] of input.query) if (AUTH_FIELDS.includes(k)) fields.set(k, v ?? '');
  }
  if (fields.size === 0) return denied('AccessDenied', 'Access Denied.');
  if (AUTH_FIELDS.some((name) => !fields.has(name)) || fields.get('q-sign-algorithm') !== 'sha1') {
    return denied('InvalidArgument', 'Authorization is not in the expected format.', 400);
  }
  if (fields.get('q-ak') !== creds.secretId) {
    return denied('InvalidAccessKeyId', 'The access key Id you provided does not exist in our records.');
  }
  const signTime = fields.get('q-sign-time') ?? '';
  const keyTime = fields.get('q-key-time') ?? '';
  const seconds = Math.floor(now.getTime() / 1000);
  for (const window of [signTime, keyTime]) {
    const [start, end] = window.split(';').map(Number);
    if (start === undefined || end === undefined || !Number.isInteger(start) || !Number.isInteger(end) || start > end) {
      return denied('InvalidArgument', 'q-sign-time or q-key-time is not valid.', 400);
    }
    if (end < seconds) return denied('AccessDenied', 'Request has expired');
    if (start > seconds + 1) return denied('AccessDenied', 'Request has not taken effect yet');
  }

  const headerList = (fields.get('q-header-list') ?? '').split(';').filter(Boolean);
  const paramList = (fields.get('q-url-param-list') ?? '').split(';').filter(Boolean);
  const params = input.query.filter(([k]) => !UNSIGNED_PARAMS.has(k));
  const unsigned = params.find(([k]) => !paramList.includes(encode(k).toLowerCase()));
  if (unsigned) return denied('AccessDenied', `Query parameter ${unsigned[0]} is not signed.`);

  const headerValue = (name: string) => {
    const value = input.headers[name];
    return Array.isArray(value) ? value.join(',') : (value ?? '');
  };
  const httpHeaders = [...headerList].sort().map((name) => `${name}=${encode(headerValue(name))}`).join('&');
  const httpParameters = [...paramList]
    .sort()
    .map((name) => {
      const found = params.find(([k]) => encode(k).toLowerCase() === name);
      return `${name}=${encode(found?.[1] ?? '')}`;
    })
    .join('&');
  const httpString = `${input.method.toLowerCase()}\n${input.path}\n${httpParameters}\n${httpHeaders}\n`;
  const stringToSign = `sha1\n${signTime}\n${createHash('sha1').update(httpString).digest('hex')}\n`;
  const signKey = createHmac('sha1', creds.secretKey).update(keyTime).digest('hex');
  const expected = Buffer.from(createHmac('sha1', signKey).update(stringToSign).digest('hex'));
  const provided = Buffer.from(fields.get('q-signature') ?? '');
  if (expected.length !== provided.length || !timingSafeEqual(expected, provided)) {
    return denied('SignatureDoesNotMatch', 'The Signature you specified is invalid.');
  }
  return { ok: true };
}
