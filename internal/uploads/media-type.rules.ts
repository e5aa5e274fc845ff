/**
 * A file's media type as Stratus records it: `type/subtype` (RFC 6838 §4.2's restricted names,
 * without parameters), at most 255 characters (the `mime_type` columns of files and upload
 * sessions). One rule for every way in: createUpload and tus (refused when given otherwise),
 * uploadFile's `mimeType` argument (refused), a multipart part's or a PUT's Content-Type (taken
 * leniently: anything else is stored as application/octet-stream).
 */
export const MEDIA_TYPE_RE = /^[\w.+-]+\/[\w.+-]+$/;
export const MEDIA_TYPE_MAX_LENGTH = 255;

export function isMediaType(value: string): boolean {
  return value.length <= MEDIA_TYPE_MAX_LENGTH && MEDIA_TYPE_RE.test(value);
}

/**
 * A client's Content-Type taken leniently (a multipart part's, a PUT's): its type/subtype when it
 * is one Stratus can record, lower-cased, else application/octet-stream (the upload goes on).
 */
export function partMediaType(value: string): string {
  return isMediaType(value) ? value.toLowerCase() : 'application/octet-stream';
}
