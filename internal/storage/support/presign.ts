/** Presigned GETs on backends that sign `response-*` overrides into the URL (OSS V4, COS). */
import type { PresignOptions } from '../object-store.ts';
import { filenameStarDisposition } from './content-disposition.ts';
import { badInput } from './storage.errors.ts';

/** OSS caps V4 presigned URLs at 7 days; COS keeps the same bound here. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** Whole seconds of validity, 1 s to 7 days; BAD_INPUT 'invalid-expiry' otherwise. */
export function presignExpiry(seconds: number): number {
  const expires = Math.ceil(seconds);
  if (!(expires > 0 && expires <= MAX_PRESIGN_SECONDS)) throw badInput('invalid-expiry', 'presigned URLs last 1 s to 7 days');
  return expires;
}

/** The response-header overrides (query parameters) for the download name and content type. */
export function responseOverrides(options: PresignOptions): Record<string, string> {
  const query: Record<string, string> = {};
  if (options.downloadName !== undefined) query['response-content-disposition'] = filenameStarDisposition(options.downloadName);
  if (options.contentType !== undefined) query['response-content-type'] = options.contentType;
  return query;
}
