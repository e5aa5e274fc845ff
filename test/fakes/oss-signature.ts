/**
 * Aliyun OSS request authentication, as the fake OSS server checks it. Both documented algorithms:
 *
 * V1 ("OSS <AccessKeyId>:<Signature>", presigned `OSSAccessKeyId`/`Expires`/`Signature`):
 *   Signature = base64(HMAC-SHA1(secret, VERB + "\n" + Content-MD5 + "\n" + Content-Type + "\n" + Date
 *               + "\n" + CanonicalizedOSSHeaders + CanonicalizedResource))
 *   where Date is the `x-oss-date` header when present (ali-oss 6.x sends only that), else `Date`, and
 *   for a presigned URL the `Expires` value; CanonicalizedResource is /bucket/key plus the sorted
 *   sub-resources (uploads, uploadId, partNumber, response-* ...), "?k=v&k2".
 *
 * V4 ("OSS4-HMAC-SHA256 Credential=<ak>/<yyyymmdd>/<region>/oss/aliyun_v4_request,
 *   [AdditionalHeaders=..,]Signature=<hex>", presigned `x-oss-signature-version` ... `x-oss-signature`):
 *   CanonicalRequest = VERB\nURI-encoded /bucket/key\ncanonical query\ncanonical headers
 *                      (content-type, content-md5, x-oss-*, additional)\nadditional headers\nhashed payload
 *   StringToSign = "OSS4-HMAC-SHA256\n" + x-oss-date + "\n" + scope + "\n" + hex(SHA256(CanonicalRequest))
 *   SigningKey = HMAC chain("aliyun_v4" + secret, yyyymmdd, region, "oss", "aliyun_v4_request").
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { XmlNode } from './fake-http.ts';

export interface OssAuthInput {
  method: string;
  bucket: string;
  key: string;
  query: [string, string | null][];
  headers: IncomingHttpHeaders;
}

export interface OssCredentials {
  accessKeyId: string;
  secret: string;
  region: string;
}

export type OssAuthResult = { ok: true } | { ok: false; status: number; code: string; message: string; extra?: XmlNode };

/** Sub-resources that V1 signs (OSS "Signature in the Authorization header": CanonicalizedResource). */
const V1_SUBRESOURCES = new Set([
  'acl', 'uploads', 'location', 'cors', 'logging', 'website', 'referer', 'lifecycle', 'delete', 'append',
  'tagging', 'objectMeta', 'uploadId', 'partNumber', 'security-token', 'position', 'img', 'style',
  'styleName', 'replication', 'replicationProgress', 'replicationLocation', 'cname', 'bucketInfo', 'comp',
  'qos', 'live', 'status', 'vod', 'startTime', 'endTime', 'symlink', 'x-oss-process', 'response-content-type',
  'response-content-language', 'response-expires', 'response-cache-control', 'response-content-disposition',
  'response-content-encoding', 'udf', 'restore', 'callback', 'callback-var', 'policy', 'encryption',
  'versions', 'versioning', 'versionId', 'x-oss-traffic-limit',
]);
const MAX_SKEW_MS = 15 * 60 * 1000;
const V4_MAX_EXPIRES = 7 * 24 * 3600;

const header = (headers: IncomingHttpHeaders, name: string): string => {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
};
const get = (query: [string, string | null][], name: string): string | undefined =>
  query.find(([k]) => k === name)?.[1] ?? undefined;
/** encodeURIComponent plus !'()* (ali-oss encodeString; RFC 3986 unreserved only). */
const encode = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const mismatch = (stringToSign: string, provided: string, accessKeyId: string): OssAuthResult => ({
  ok: false,
  status: 403,
  code: 'SignatureDoesNotMatch',
  message: 'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  extra: { StringToSign: stringToSign, SignatureProvided: provided, OSSAccessKeyId: accessKeyId },
});
const unknownKey = (accessKeyId: string): OssAuthResult => ({
  ok: false,
  status: 403,
  code: 'InvalidAccessKeyId',
  message: 'The OSS Access Key Id you provided does not exist in our records.',
  extra: { OSSAccessKeyId: accessKeyId },
});
const expired = (expires: Date, now: Date): OssAuthResult => ({
  ok: false,
  status: 403,
  code: 'AccessDenied',
  message: 'Request has expired.',
  extra: { Expires: expires.toISOString(), ServerTime: now.toISOString() },
});
const denied = (message: string): OssAuthResult => ({ ok: false, status: 403, code: 'AccessDenied', message });

export function verifyOss(input: OssAuthInput, creds: OssCredentials, now = new Date()): OssAuthResult {
  const authorization = header(input.headers, 'authorization');
  if (authorization.startsWith('OSS4-HMAC-SHA256 ')) return verifyV4(input, creds, now, authorization.slice(17));
  if (authorization.startsWith('OSS ')) return verifyV1Header(input, creds, now, authorization.slice(4));
  if (get(input.query, 'x-oss-signature-version') === 'OSS4-HMAC-SHA256') return verifyV4(input, creds, now, null);
  if (get(input.query, 'Signature') !== undefined) return verifyV1Query(input, creds, now);
  return denied('AccessDenied: anonymous access is forbidden for this operation.');
}

function v1StringToSign(input: OssAuthInput, date: string): string {
  const ossHeaders = Object.keys(input.headers)
    .filter((name) => name.startsWith('x-oss-'))
    .sort()
    .map((name) => `${name}:${header(input.headers, name).trim()}\n`)
    .join('');
  const subresources = input.query
    .filter(([k]) => V1_SUBRESOURCES.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => (v === null || v === '' ? k : `${k}=${v}`));
  const resource = `/${input.bucket}/${input.key}${subresources.length ? `?${subresources.join('&')}` : ''}`;
  const verb = input.method.toUpperCase();
  const md5 = header(input.headers, 'content-md5');
  const type = header(input.headers, 'content-type');
  return `${verb}\n${md5}\n${type}\n${date}\n${ossHeaders}${resource}`;
}

const v1Sign = (secret: string, stringToSign: string) =>
  createHmac('sha1', secret).update(Buffer.from(stringToSign, 'utf8')).digest('base64');

function verifyV1Header(input: OssAuthInput, creds: OssCredentials, now: Date, credential: string): OssAuthResult {
  const colon = credential.lastIndexOf(':');
  const accessKeyId = credential.slice(0, colon);
  const provided = credential.slice(colon + 1);
  if (accessKeyId !== creds.accessKeyId) return unknownKey(accessKeyId);
  const date = header(input.headers, 'x-oss-date') || header(input.headers, 'date');
  const at = Date.parse(date);
  if (Number.isNaN(at)) return denied('Invalid date.');
  if (Math.abs(now.getTime() - at) > MAX_SKEW_MS) {
    return { ok: false, status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
  }
  const stringToSign = v1StringToSign(input, date);
  return safeEqual(v1Sign(creds.secret, stringToSign), provided) ? { ok: true } : mismatch(stringToSign, provided, accessKeyId);
}

function verifyV1Query(input: OssAuthInput, creds: OssCredentials, now: Date): OssAuthResult {
  const accessKeyId = get(input.query, 'OSSAccessKeyId') ?? '';
  const expires = get(input.query, 'Expires') ?? '';
  const provided = get(input.query, 'Signature') ?? '';
  if (accessKeyId !== creds.accessKeyId) return unknownKey(accessKeyId);
  if (!/^\d+$/.test(expires)) return denied('Invalid Expires.');
  if (Number(expires) * 1000 < now.getTime()) return expired(new Date(Number(expires) * 1000), now);
  const stringToSign = v1StringToSign(input, expires);
  return safeEqual(v1Sign(creds.secret, stringToSign), provided) ? { ok: true } : mismatch(stringToSign, provided, accessKeyId);
}

function verifyV4(input: OssAuthInput, creds: OssCredentials, now: Date, authorization: string | null): OssAuthResult {
  let credential: string;
  let additional: string[];
  let provided: string;
  let date: string;
  let query = input.query;
  if (authorization !== null) {
    const fields = new Map(
      authorization.split(',').map((field) => {
        const eq = field.indexOf('=');
        return [field.slice(0, eq).trim(), field.slice(eq + 1).trim()] as const;
      }),
    );
    credential = fields.get('Credential') ?? '';
    additional = (fields.get('AdditionalHeaders') ?? '').split(';').filter(Boolean);
    provided = fields.get('Signature') ?? '';
    date = header(input.headers, 'x-oss-date');
    const at = parseV4Date(date);
    if (at === null) return denied('Invalid x-oss-date.');
    if (Math.abs(now.getTime() - at) > MAX_SKEW_MS) {
      return { ok: false, status: 403, code: 'RequestTimeTooSkewed', message: 'The difference between the request time and the current time is too large.' };
    }
  } else {
    credential = get(query, 'x-oss-credential') ?? '';
    additional = (get(query, 'x-oss-additional-headers') ?? '').split(';').filter(Boolean);
    provided = get(query, 'x-oss-signature') ?? '';
    date = get(query, 'x-oss-date') ?? '';
    const expires = Number(get(query, 'x-oss-expires') ?? '');
    const at = parseV4Date(date);
    if (at === null || !Number.isInteger(expires) || expires <= 0 || expires > V4_MAX_EXPIRES) {
      return denied('Invalid x-oss-date or x-oss-expires.');
    }
    if (at + expires * 1000 < now.getTime()) return expired(new Date(at + expires * 1000), now);
    query = query.filter(([k]) => k !== 'x-oss-signature');
  }
  const [accessKeyId = '', day = '', region = '', product = '', terminator = ''] = credential.split('/');
  if (accessKeyId !== creds.accessKeyId) return unknownKey(accessKeyId);
  if (day !== date.slice(0, 8) || region !== creds.region || product !== 'oss' || terminator !== 'aliyun_v4_request') {
    return denied(`Invalid credential scope ${credential.split('/').slice(1).join('/')}.`);
  }
  const canonicalQuery = [...query]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => (v === null || v === '' ? encode(k) : `${encode(k)}=${encode(v)}`))
    .join('&');
  const signedHeaders = new Set(additional);
  for (const name of Object.keys(input.headers)) {
    if (name === 'content-type' || name === 'content-md5' || name.startsWith('x-oss-')) signedHeaders.add(name);
  }
  const canonicalHeaders = [...signedHeaders]
    .sort()
    .map((name) => `${name}:${header(input.headers, name).trim()}\n`)
    .join('');
  const canonicalRequest = [
    input.method.toUpperCase(),
    encode(`/${input.bucket}/${input.key}`).replace(/%2F/g, '/'),
    canonicalQuery,
    canonicalHeaders,
    additional.join(';'),
    header(input.headers, 'x-oss-content-sha256') || 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${day}/${region}/oss/aliyun_v4_request`;
  const stringToSign = ['OSS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  let key: Buffer = createHmac('sha256', `aliyun_v4${creds.secret}`).update(day).digest();
  for (const part of [region, 'oss', 'aliyun_v4_request']) key = createHmac('sha256', key).update(part).digest();
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return safeEqual(expected, provided) ? { ok: true } : mismatch(stringToSign, provided, accessKeyId);
}

/** `20250102T030405Z` → epoch ms. */
function parseV4Date(value: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return null;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}
