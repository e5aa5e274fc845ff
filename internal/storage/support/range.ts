/**
 * The contract's byte-range rule (RFC 9110 §14.1.2): start and end are integers with
 * 0 <= start <= end (else BAD_INPUT 'invalid-range'); "a range is unsatisfiable if first-pos >=
 * length" (BAD_INPUT 'range-not-satisfiable'); a last-pos "greater than or equal to the current
 * length" means the remainder, so `end` is clamped.
 */
import type { ByteRange } from '../object-store.ts';
import { badInput } from './storage.errors.ts';

/**
 * The shape check alone, for a driver that sends the range to its backend as text and leaves
 * satisfiability to it: any integers (an `end` past 2^53 still means "to the end" there).
 */
export function checkRange(range: ByteRange): void {
  if (!wellFormed(range, Number.isInteger)) throw invalidRange(range);
}

/** The range as it applies to an object of `size` bytes (computed on, so safe integers only). */
export function resolveRange(range: ByteRange, size: number): ByteRange {
  if (!wellFormed(range, Number.isSafeInteger)) throw invalidRange(range);
  const { start, end } = range;
  if (start >= size) throw badInput('range-not-satisfiable', `range starts at ${start}, the object has ${size} bytes`);
  return { start, end: Math.min(end, size - 1) };
}

/** "Content-Range: bytes 0-9/100": the total after the slash is the object's size (undefined: no total). */
export function contentRangeTotal(contentRange: string | undefined): number | undefined {
  const total = /\/(\d+)$/.exec(contentRange ?? '')?.[1];
  return total === undefined ? undefined : Number(total);
}

function wellFormed({ start, end }: ByteRange, isInteger: (n: number) => boolean): boolean {
  return isInteger(start) && isInteger(end) && start >= 0 && end >= start;
}

function invalidRange({ start, end }: ByteRange) {
  return badInput('invalid-range', `invalid byte range ${start}-${end}`);
}
