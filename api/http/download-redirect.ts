/**
 * Redirected downloads: for a backend whose routing entry says `downloads: "redirect"`, a plain
 * `GET /files/{id}/content` is answered with `302 Found` and a presigned URL of the object, so the
 * bytes flow from the backend to the client without passing through Stratus (design: "or a
 * redirect to a presigned backend URL").
 *
 * Only requests the backend answers exactly as Stratus would are redirected. A client follows a
 * redirect with the same request headers (Fetch: "request's header list" is kept; only
 * Authorization is dropped across origins), and the backend judges them by its own ETag, not by
 * ours (`"<contentHash>"`). So these stay proxied:
 * - `If-Range` / `If-None-Match` / `If-Match`: validators name our ETag, the backend would compare
 *   them with its own and answer differently (a 200 instead of a 206, a 412);
 * - several ranges (Stratus answers 200 with the whole file, RFC 9110 allows it; S3 does not
 *   define multi-range), and unsatisfiable ranges (our 416 carries our error body);
 * - HEAD, which costs no bytes, and `?inline=1` (the presigned URL names an attachment).
 */
import type { Request } from 'express';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { Content } from './download.handler.ts';
import { parseRange } from './range.ts';

/**
 * Long enough to start a slow client's request, short enough that a leaked URL soon stops working.
 * S3 checks expiry when a request starts, so a long download is not cut off; a resume after it
 * comes back here and gets a fresh URL.
 */
export const REDIRECT_URL_SECONDS = 300;

const VALIDATORS = ['if-range', 'if-none-match', 'if-match', 'if-modified-since', 'if-unmodified-since'] as const;

/** Whether the backend would answer this request with exactly our status, headers and bytes. */
export function redirectable(req: Request, size: number): boolean {
  if (req.method !== 'GET' || req.query.inline !== undefined) return false;
  if (VALIDATORS.some((name) => req.headers[name] !== undefined)) return false;
  const range = parseRange(req.headers.range, size);
  switch (range.kind) {
    case 'none':
      // `none` is also what several ranges, or a unit other than bytes, parse to.
      return req.headers.range === undefined;
    case 'single':
      return true;
    case 'unsatisfiable':
      return false;
    default:
      return unreachable(range);
  }
}

/** The presigned URL to send the client to, or null to serve the bytes through Stratus. */
export async function redirectTarget(req: Request, storage: StorageRouter, content: Content): Promise<string | null> {
  if (storage.downloadMode(content.backend) !== 'redirect' || !redirectable(req, content.size)) return null;
  return storage.store(content.backend).presignGet(content.storageKey, {
    expiresInSeconds: REDIRECT_URL_SECONDS,
    downloadName: content.name,
    contentType: content.mimeType ?? 'application/octet-stream',
  });
}

/** The bytes a redirect hands to the presigned URL: the range's length, or the whole file. */
export function redirectedBytes(req: Request, size: number): number {
  const range = parseRange(req.headers.range, size);
  return range.kind === 'single' ? range.range.end - range.range.start + 1 : size;
}

function unreachable(value: never): never {
  throw new Error(`unexpected range result ${JSON.stringify(value)}`);
}
