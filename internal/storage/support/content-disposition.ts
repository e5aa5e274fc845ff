/**
 * `Content-Disposition` for a download (RFC 6266 with the RFC 8187 `filename*` parameter): the
 * name travels UTF-8 percent-encoded, with a plain ASCII fallback for old clients. Quotes,
 * backslashes, control characters and CR/LF can never reach the header, so a file name cannot
 * inject a header or break out of the quoted string.
 */
export function contentDisposition(downloadName: string, type: 'attachment' | 'inline' = 'attachment'): string {
  const ascii = downloadName.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${type}; filename="${ascii}"; filename*=UTF-8''${extValue(downloadName)}`;
}

/**
 * `attachment; filename*=UTF-8''<percent-encoded>` alone, without the ASCII fallback: what the
 * OSS and COS drivers have always signed into presigned URLs.
 */
export function filenameStarDisposition(downloadName: string): string {
  return `attachment; filename*=UTF-8''${extValue(downloadName)}`;
}

/** RFC 8187 value-chars: UTF-8, percent-encoding everything but attr-char. */
function extValue(value: string): string {
  // RFC 8187 attr-char leaves only ALPHA DIGIT !#$&+-.^_`|~ unencoded; encodeURIComponent also
  // leaves '()* alone, which are not attr-chars.
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
