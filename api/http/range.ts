/**
 * The Range request header (RFC 9110 §14). One byte range is served as 206; a header whose unit
 * is not `bytes` is ignored ("a server MUST ignore a Range header field ... with a range unit it
 * does not understand"); several ranges are answered with the whole representation (200), which
 * RFC 9110 allows ("A server MAY ignore the Range header field"). A bytes range that is
 * syntactically invalid (last-pos < first-pos, garbage) or starts past the end is answered 416
 * ("the specified range(s) are invalid or unsatisfiable").
 */
import type { ByteRange } from '../../internal/storage/index.ts';

export type RangeResult =
  | { kind: 'none' }
  | { kind: 'single'; range: ByteRange }
  | { kind: 'unsatisfiable' };

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (!header) return { kind: 'none' };
  const match = /^\s*([A-Za-z]+)\s*=\s*(.*)$/.exec(header);
  if (!match) return { kind: 'unsatisfiable' };
  if (match[1]?.toLowerCase() !== 'bytes') return { kind: 'none' };
  const specs = (match[2] ?? '').split(',').map((s) => s.trim());
  if (specs.length !== 1) {
    return specs.every((s) => /^(\d+-\d*|-\d+)$/.test(s)) ? { kind: 'none' } : { kind: 'unsatisfiable' };
  }
  const spec = specs[0] ?? '';
  const suffix = /^-(\d+)$/.exec(spec);
  if (suffix) {
    // "bytes=-N": the last N bytes. "A suffix-range of 0 is unsatisfiable".
    const n = Number(suffix[1]);
    if (!Number.isSafeInteger(n) || n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'single', range: { start: Math.max(0, size - n), end: size - 1 } };
  }
  const full = /^(\d+)-(\d*)$/.exec(spec);
  if (!full) return { kind: 'unsatisfiable' };
  const start = Number(full[1]);
  const end = full[2] === '' ? size - 1 : Number(full[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start || start >= size) return { kind: 'unsatisfiable' };
  // "If the last-pos value is absent, or if the value is greater than or equal to the current
  // length of the representation data, the byte range is interpreted as the remainder".
  return { kind: 'single', range: { start, end: Math.min(end, size - 1) } };
}
