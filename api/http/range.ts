/**
 * The Range request header (RFC 9110 §14). One satisfiable byte range is served as 206. A header
 * whose unit is not `bytes` is ignored ("a server MUST ignore a Range header field ... with a
 * range unit it does not understand"). Several ranges are answered with the whole representation
 * (200; "A server MAY ignore the Range header field") when at least one is satisfiable, and 416
 * when none is. A bytes range that is invalid (last-pos < first-pos, garbage) is answered 416.
 *
 * Positions are digits of any length: they are compared as BigInt, never through Number, so a
 * last-pos beyond 2^53 is still "greater than or equal to the current length" and clamped
 * (§14.1.2), and a first-pos beyond 2^53 is still past the end.
 */
import type { ByteRange } from '../../internal/storage/index.ts';

export type RangeResult =
  | { kind: 'none' }
  | { kind: 'single'; range: ByteRange }
  | { kind: 'unsatisfiable' };

type Spec = { first: bigint; last: bigint | null } | { suffix: bigint };

// ranges-specifier = range-unit "=" range-set; range-unit = token.
const SPECIFIER = /^\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(.*)$/;

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'none' };
  const match = SPECIFIER.exec(header);
  if (!match) return { kind: 'unsatisfiable' };
  if (match[1]?.toLowerCase() !== 'bytes') return { kind: 'none' };
  // range-set = 1#range-spec; §5.6.1: "a recipient MUST accept empty list elements".
  const specs = (match[2] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '').map(parseSpec);
  if (specs.length === 0 || specs.some((s) => s === null)) return { kind: 'unsatisfiable' };
  const length = BigInt(size);
  const satisfiable = (specs as Spec[]).map((spec) => resolve(spec, length)).filter((r) => r !== null);
  if (satisfiable.length === 0) return { kind: 'unsatisfiable' };
  if (specs.length > 1) return { kind: 'none' };
  const [only] = satisfiable;
  return only ? { kind: 'single', range: only } : { kind: 'unsatisfiable' };
}

/** int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length; null if invalid. */
function parseSpec(text: string): Spec | null {
  const suffix = /^-(\d+)$/.exec(text);
  if (suffix?.[1]) return { suffix: BigInt(suffix[1]) };
  const int = /^(\d+)-(\d*)$/.exec(text);
  if (!int?.[1]) return null;
  const first = BigInt(int[1]);
  const last = int[2] ? BigInt(int[2]) : null;
  // "A range with a last-pos less than the first-pos is invalid" (§14.1.1).
  if (last !== null && last < first) return null;
  return { first, last };
}

/** The bytes a satisfiable spec selects (§14.1.2), or null when it is unsatisfiable. */
function resolve(spec: Spec, length: bigint): ByteRange | null {
  if ('suffix' in spec) {
    // "A suffix-range of 0 is unsatisfiable"; a suffix longer than the representation is all of it.
    if (spec.suffix === 0n || length === 0n) return null;
    const start = spec.suffix >= length ? 0n : length - spec.suffix;
    return { start: Number(start), end: Number(length - 1n) };
  }
  // "the first-pos ... is less than the current length" or the int-range is unsatisfiable.
  if (spec.first >= length) return null;
  // A last-pos absent or at/after the length "is interpreted as the remainder".
  const end = spec.last === null || spec.last >= length ? length - 1n : spec.last;
  return { start: Number(spec.first), end: Number(end) };
}
