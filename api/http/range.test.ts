/**
 * Range parsing against RFC 9110 §14: the examples of §14.1.2 and the edge cases the section
 * names (clamped last-pos, suffix longer than the representation, unsatisfiable first-pos,
 * numbers beyond 2^53 that must not lose precision, lists with empty elements).
 */
import { describe, expect, it } from 'vitest';
import { parseRange, type RangeResult } from './range.ts';

const single = (start: number, end: number): RangeResult => ({ kind: 'single', range: { start, end } });
const none: RangeResult = { kind: 'none' };
const unsatisfiable: RangeResult = { kind: 'unsatisfiable' };
const HUGE = '99999999999999999999999'; // > 2^64, far beyond Number's exact integers
const JUST_ABOVE_2_53 = '9007199254740993'; // 2^53 + 1: Number() rounds it to 2^53

const cases: [header: string | undefined, size: number, expected: RangeResult][] = [
  [undefined, 10_000, none],
  ['', 10_000, none],
  // §14.1.2 examples on a representation of length 10000.
  ['bytes=0-499', 10_000, single(0, 499)],
  ['bytes=500-999', 10_000, single(500, 999)],
  ['bytes=-500', 10_000, single(9500, 9999)],
  ['bytes=9500-', 10_000, single(9500, 9999)],
  ['bytes=0-0', 10_000, single(0, 0)],
  ['bytes=-1', 10_000, single(9999, 9999)],
  // "If the last-pos value is ... greater than or equal to the current length ... the byte range
  // is interpreted as the remainder of the representation".
  ['bytes=100-99999', 10_000, single(100, 9999)],
  [`bytes=0-${HUGE}`, 10_000, single(0, 9999)],
  [`bytes=9990-${JUST_ABOVE_2_53}`, 10_000, single(9990, 9999)],
  // "If the selected representation is shorter than the specified suffix-length, the entire
  // representation is used."
  ['bytes=-20000', 10_000, single(0, 9999)],
  [`bytes=-${HUGE}`, 10_000, single(0, 9999)],
  // Leading zeros are digits like any other.
  ['bytes=0000000000000000000000000010-0000000000000000000000000019', 10_000, single(10, 19)],
  // The unit is case-insensitive; whitespace around "=" and list elements is tolerated.
  ['Bytes = 1-2', 10_000, single(1, 2)],
  // §5.6.1: a recipient MUST accept empty list elements.
  ['bytes=,0-9,', 10_000, single(0, 9)],
  // A first-pos at or past the length is unsatisfiable; beyond 2^53 it is still past the length.
  ['bytes=10000-', 10_000, unsatisfiable],
  [`bytes=${HUGE}-`, 10_000, unsatisfiable],
  [`bytes=${JUST_ABOVE_2_53}-${HUGE}`, 10_000, unsatisfiable],
  // "A suffix-range of 0 is unsatisfiable", and nothing is satisfiable on an empty file.
  ['bytes=-0', 10_000, unsatisfiable],
  ['bytes=0-', 0, unsatisfiable],
  ['bytes=-5', 0, unsatisfiable],
  // Invalid: last-pos below first-pos, garbage, no unit.
  ['bytes=10-5', 10_000, unsatisfiable],
  [`bytes=${HUGE}1-${HUGE}`, 10_000, unsatisfiable],
  ['bytes=abc', 10_000, unsatisfiable],
  ['bytes=', 10_000, unsatisfiable],
  ['bytes=1-2-3', 10_000, unsatisfiable],
  ['0-5', 10_000, unsatisfiable],
  // "A server MUST ignore a Range header field ... with a range unit it does not understand".
  ['items=0-1', 10_000, none],
  // Several ranges: the whole representation (a server MAY ignore Range) when one is
  // satisfiable; 416 only when none is.
  ['bytes=0-1,5-6', 10_000, none],
  ['bytes=20000-,5-6', 10_000, none],
  [`bytes=${HUGE}-,-3`, 10_000, none],
  ['bytes=20000-,30000-', 10_000, unsatisfiable],
  ['bytes=0-1,x', 10_000, unsatisfiable],
];

describe('parseRange (RFC 9110 §14)', () => {
  it.each(cases)('%s on %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it('stays exact at the largest size a Number carries (positions are never rounded)', () => {
    const size = Number.MAX_SAFE_INTEGER; // 2^53 - 1, the largest size a Size scalar carries exactly
    expect(parseRange(`bytes=${size - 1}-${HUGE}`, size)).toEqual(single(size - 1, size - 1));
    expect(parseRange(`bytes=${JUST_ABOVE_2_53}-`, size)).toEqual(unsatisfiable);
    expect(parseRange('bytes=-2', size)).toEqual(single(size - 2, size - 1));
  });
});
