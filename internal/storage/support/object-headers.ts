/** ObjectInfo and GetResult read from an object response's HTTP headers (OSS and COS). */
import type { Readable } from 'node:stream';
import type { GetResult, ObjectInfo } from '../object-store.ts';
import { unquote } from './etag.ts';
import { contentRangeTotal } from './range.ts';

/** A header by its lower-case name. */
export type HeaderOf = (name: string) => string | undefined;

/** A HEAD answer: size, bare etag, and content type and modification time when present. */
export function infoFromHeaders(key: string, header: HeaderOf): ObjectInfo {
  const modified = header('last-modified');
  const contentType = header('content-type');
  return {
    key,
    size: Number(header('content-length')),
    etag: unquote(header('etag')),
    ...(contentType ? { contentType } : {}),
    ...(modified ? { lastModified: new Date(modified) } : {}),
  };
}

/** A GET answer: the object's size is Content-Range's total for a 206, else Content-Length. */
export function getResultFromHeaders(body: Readable, header: HeaderOf): GetResult {
  const contentLength = Number(header('content-length'));
  const total = contentRangeTotal(header('content-range'));
  return { body, size: total ?? contentLength, contentLength, etag: unquote(header('etag')) };
}
