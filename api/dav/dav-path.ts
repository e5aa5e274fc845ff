/**
 * Paths under /dav/: the request target and the Destination header (RFC 4918 §10.3) become the
 * list of names from the person's root; names are percent-decoded here and checked by the files
 * service against the drive's rules (internal/files/names.ts), so "..", a decoded "/" (`%2F`) or
 * NUL (`%00`) is refused there as a name the drive does not allow. A raw "." or ".." segment is
 * refused here before anything is looked up: the path is never walked upwards.
 */
import { AppError } from '../../internal/platform/errors.ts';

export const DAV_PREFIX = '/dav';

export interface DavPath {
  /** Decoded names from the root; [] is the root itself. */
  names: string[];
  /** The URL ended in "/" (a client naming a collection). */
  trailingSlash: boolean;
}

const badPath = (message: string) => new AppError('BAD_INPUT', message, { details: { field: 'path', reason: 'name_invalid_character' } });

/** The names of a path below /dav ("/dav/a%20b/c/" → ["a b", "c"]); the query is not part of it. */
export function parseDavPath(urlPath: string): DavPath {
  const pathOnly = urlPath.split('?')[0] ?? '';
  if (!pathOnly.startsWith(DAV_PREFIX) || (pathOnly.length > DAV_PREFIX.length && pathOnly[DAV_PREFIX.length] !== '/')) {
    throw new AppError('NOT_FOUND', 'Not a WebDAV path');
  }
  const rest = pathOnly.slice(DAV_PREFIX.length);
  const names: string[] = [];
  for (const segment of rest.split('/')) {
    if (segment === '') continue;
    // RFC 3986 §5.2.4 removes dot-segments when resolving a reference; a server that walked
    // them would leave the drive's root, so they are refused rather than resolved.
    if (segment === '.' || segment === '..') throw new AppError('BAD_INPUT', 'A path cannot contain "." or ".." segments', { details: { field: 'path', reason: 'name_only_dots' } });
    names.push(decodeSegment(segment));
  }
  return { names, trailingSlash: rest.endsWith('/') };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch (error) {
    throw Object.assign(badPath('A path segment is not valid percent-encoded UTF-8'), { cause: error });
  }
}

/** RFC 3986 pchar encoding of one name: everything but unreserved characters is escaped. */
export function encodeName(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The href of a resource: collections end in "/" (RFC 4918 §5.2: "the URL ... ending in /"). */
export function hrefOf(names: readonly string[], collection: boolean): string {
  const path = names.map(encodeName).join('/');
  if (path === '') return `${DAV_PREFIX}/`;
  return `${DAV_PREFIX}/${path}${collection ? '/' : ''}`;
}

/** Whether `inner` is `outer` or lies below it, comparing names caselessly (the drive's names are unique regardless of case). */
export function isWithin(inner: readonly string[], outer: readonly string[]): boolean {
  if (inner.length < outer.length) return false;
  return outer.every((name, i) => sameName(name, inner[i] ?? ''));
}

const sameName = (a: string, b: string) => a.normalize('NFC').toLowerCase() === b.normalize('NFC').toLowerCase();

export const sameNames = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && isWithin(a, b);
