/** Object-key rules: the vendors' (checked before an SDK silently rewrites a key) and local paths. */
import { badInput } from './storage.errors.ts';

/**
 * A vendor's object-key rule: 1..`maxBytes` bytes of UTF-8, not starting with any of `leading`
 * (the OSS and COS SDKs strip a leading "/", which would store the object under another name).
 * BAD_INPUT 'invalid-key' otherwise.
 */
export function checkVendorKey(key: string, rule: { vendor: string; maxBytes: number; leading: readonly string[] }): void {
  const bytes = Buffer.byteLength(key);
  if (bytes === 0 || bytes > rule.maxBytes || rule.leading.some((c) => key.startsWith(c))) {
    throw badInput('invalid-key', `${rule.vendor} object keys are 1..${rule.maxBytes} bytes and do not start with ${rule.leading.join(' or ')}`);
  }
}

/**
 * A key as relative path segments: no absolute path, no empty/`.`/`..` segment, no NUL, at most
 * S3's 1024 bytes and 255 bytes a segment (a file name). BAD_INPUT 'invalid-key' otherwise.
 */
export function keySegments(key: string): string[] {
  const segments = key.split('/');
  const bad =
    key.length === 0 ||
    Buffer.byteLength(key) > 1024 ||
    key.includes('\0') ||
    segments.some((s) => s === '' || s === '.' || s === '..' || Buffer.byteLength(s) > 255);
  if (bad) throw badInput('invalid-key', `invalid object key ${JSON.stringify(key.slice(0, 200))}`);
  return segments;
}
