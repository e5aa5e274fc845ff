/**
 * Argument checks for uploads, made before a byte is sent: part numbers, declared sizes and the
 * part list of a completion (S3's CompleteMultipartUpload rules, with its error codes as reasons).
 * Drivers keep their own reason where they have always used another one (e.g. OSS/COS
 * 'invalid-argument' and 'too-large', the vendors' error codes).
 */
import type { Readable } from 'node:stream';
import type { PartInfo } from '../object-store.ts';
import type { ErrorReason } from '../../platform/errors.ts';
import { badInput } from './storage.errors.ts';
import { unquote } from './etag.ts';

/** "Part numbers can be any number from 1 to 10,000, inclusive" (S3 UploadPart). */
export function checkPartNumber(partNumber: number, maxParts: number, reason: ErrorReason = 'invalid-part-number'): void {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > maxParts) {
    throw badInput(reason, `part number ${partNumber} is outside 1..${maxParts}`);
  }
}

export function checkSize(size: number, max: number, reason: ErrorReason = 'invalid-size'): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > max) throw badInput(reason, `size ${size} is outside 0..${max}`);
}

/** Runs `check`; when it refuses, the body that will never be read is destroyed first. */
export async function refusing(body: Readable, check: () => void | Promise<void>): Promise<void> {
  try {
    await check();
  } catch (error) {
    body.destroy();
    throw error;
  }
}

/**
 * "You must include at least one part" ('no-parts') and "part numbers must be in ascending
 * order" ('part-order', repeats included) (CompleteMultipartUpload).
 */
export function checkPartList(parts: readonly { partNumber: number }[]): void {
  requireParts(parts);
  parts.forEach((_, i) => checkAscending(parts, i));
}

/**
 * The checks S3's CompleteMultipartUpload makes against the stored parts, for a store that keeps
 * parts itself, part by part in list order: the list rules above, 'invalid-part' for an unknown
 * part or another etag, and 'part-too-small' for a part other than the last below `minPartSize`.
 * Returns the stored parts.
 */
export function checkCompletion(parts: readonly { partNumber: number; etag: string }[], stored: PartInfo[], minPartSize: number): PartInfo[] {
  requireParts(parts);
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
  return parts.map((part, i) => {
    checkAscending(parts, i);
    const have = byNumber.get(part.partNumber);
    // "InvalidPart: One or more of the specified parts could not be found ... or the specified
    // entity tag might not have matched the part's entity tag."
    if (have?.etag !== unquote(part.etag)) throw badInput('invalid-part', `part ${part.partNumber} not found or etag differs`);
    // "EntityTooSmall: Your proposed upload is smaller than the minimum allowed object size" (for
    // every part but the last).
    if (i < parts.length - 1 && have.size < minPartSize) throw badInput('part-too-small', `part ${part.partNumber} has ${have.size} bytes`);
    return have;
  });
}

function requireParts(parts: readonly unknown[]): void {
  if (parts.length === 0) throw badInput('no-parts', 'a multipart upload needs at least one part');
}

function checkAscending(parts: readonly { partNumber: number }[], i: number): void {
  if (i > 0 && (parts[i]?.partNumber ?? 0) <= (parts[i - 1]?.partNumber ?? 0)) {
    throw badInput('part-order', 'parts must be listed in ascending part-number order without repeats');
  }
}
