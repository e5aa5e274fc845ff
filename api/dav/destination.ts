/**
 * The Destination header of COPY and MOVE (RFC 4918 §10.3: "Destination = Simple-ref", an
 * absolute URI or an absolute path) and the Overwrite header (§10.6: "T" or "F", "If the
 * Overwrite header is not included in a COPY or MOVE request, then the resource MUST treat the
 * request as if it has an Overwrite header of value 'T'").
 *
 * The destination must be on this server and below /dav/: §9.8.5 "502 (Bad Gateway) - This may
 * occur when the destination is on another server, repository, or URL namespace". The URL is
 * parsed (RFC 3986: dot-segments removed, so "/dav/../x" is outside /dav and refused), then its
 * path is read into names like the request's (percent-decoded; the drive's name rules apply).
 */
import type { DavContext } from './dav-context.ts';
import { headerOf } from './dav-context.ts';
import { DavError } from './dav-errors.ts';
import { DAV_PREFIX, parseDavPath, type DavPath } from './dav-path.ts';

export function destinationOf(ctx: DavContext): DavPath {
  const header = headerOf(ctx, 'destination')?.trim();
  if (!header) throw new DavError(400, 'COPY and MOVE need a Destination header');
  const host = headerOf(ctx, 'host') ?? 'localhost';
  let url: URL;
  try {
    url = new URL(header, `http://${host}`);
  } catch {
    throw new DavError(400, 'The Destination header is not a URI');
  }
  if (url.host.toLowerCase() !== host.toLowerCase()) throw new DavError(502, 'The Destination is on another server');
  // The raw path (still percent-encoded) is what parseDavPath reads; URL removed dot-segments.
  if (url.pathname !== DAV_PREFIX && !url.pathname.startsWith(`${DAV_PREFIX}/`)) throw new DavError(502, 'The Destination is outside /dav/');
  return parseDavPath(url.pathname);
}

/** Overwrite: T (the default) or F; anything else is 400. */
export function overwriteOf(ctx: DavContext): boolean {
  const value = headerOf(ctx, 'overwrite')?.trim().toUpperCase();
  if (value === undefined || value === 'T') return true;
  if (value === 'F') return false;
  throw new DavError(400, 'Overwrite must be T or F');
}
