/**
 * Conditional requests against RFC 9110 §13: entity-tag comparison (§8.8.3.2's table), HTTP-date
 * parsing (§5.6.7's three formats), each precondition and the order of evaluation (§13.2.2), and
 * If-Range (§13.1.5).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { evaluateConditions, parseEntityTags, parseHttpDate, strongMatch, weakMatch, type Conditions } from './conditional.ts';

const ETAG = '"abc"';
const MODIFIED = new Date('2024-01-01T00:00:00.500Z');
const rep = { etag: ETAG, lastModified: MODIFIED };
const NOW = Date.parse('2025-06-01T00:00:00Z');
const BEFORE = 'Sun, 31 Dec 2023 23:59:59 GMT';
const SAME = 'Mon, 01 Jan 2024 00:00:00 GMT';
const AFTER = 'Mon, 01 Jan 2024 00:00:01 GMT';

const proceed = (range?: string): Conditions => ({ outcome: 'proceed', range });
const notModified: Conditions = { outcome: 'not-modified' };
const failed: Conditions = { outcome: 'precondition-failed' };

describe('entity tags (RFC 9110 §8.8.3)', () => {
  // §8.8.3.2's example table: ETag 1, ETag 2, strong comparison, weak comparison.
  const table: [string, string, boolean, boolean][] = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ];
  it.each(table)('%s vs %s: strong %s, weak %s', (a, b, strong, weak) => {
    const [x] = parseEntityTags(a) as [{ weak: boolean; opaque: string }];
    const [y] = parseEntityTags(b) as [{ weak: boolean; opaque: string }];
    expect(strongMatch(x, y)).toBe(strong);
    expect(weakMatch(x, y)).toBe(weak);
  });

  it('parses lists, "*", empty elements, and refuses malformed ones', () => {
    expect(parseEntityTags('*')).toBe('*');
    expect(parseEntityTags(' "a" ,W/"b",, "c,d" ')).toEqual([
      { weak: false, opaque: '"a"' },
      { weak: true, opaque: '"b"' },
      { weak: false, opaque: '"c,d"' },
    ]);
    for (const bad of ['abc', '"unterminated', 'w/"lowercase-weak"', '"a" "b"', '"a", *', '"in"side"']) expect(parseEntityTags(bad), bad).toBeNull();
  });
});

describe('HTTP-date (RFC 9110 §5.6.7)', () => {
  it.each([
    ['Sun, 06 Nov 1994 08:49:37 GMT', '1994-11-06T08:49:37.000Z'],
    ['Sunday, 06-Nov-94 08:49:37 GMT', '1994-11-06T08:49:37.000Z'],
    ['Sun Nov  6 08:49:37 1994', '1994-11-06T08:49:37.000Z'],
  ])('reads %s', (text, iso) => {
    expect(parseHttpDate(text, NOW)?.toISOString()).toBe(iso);
  });

  it('reads a two-digit year more than 50 years ahead as the past century', () => {
    expect(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT', NOW)?.getUTCFullYear()).toBe(2070);
    expect(parseHttpDate('Friday, 01-Jan-99 00:00:00 GMT', NOW)?.getUTCFullYear()).toBe(1999);
  });

  it.each(['yesterday', '2024-01-01T00:00:00Z', 'Mon, 32 Jan 2024 00:00:00 GMT', 'Mon, 01 Foo 2024 00:00:00 GMT', 'Mon, 01 Jan 2024 25:00:00 GMT', 'Mon, 01 Jan 2024 00:00:00 PST', ''])(
    'refuses %s',
    (text) => {
      expect(parseHttpDate(text, NOW)).toBeNull();
    },
  );
});

describe('preconditions (RFC 9110 §13.1, evaluated in the order of §13.2.2)', () => {
  const cases: [name: string, method: string, headers: IncomingHttpHeaders, expected: Conditions][] = [
    ['no conditions', 'GET', {}, proceed()],
    // §13.1.2 If-None-Match: weak comparison; "*" matches any current representation.
    ['If-None-Match: the strong tag', 'GET', { 'if-none-match': ETAG }, notModified],
    ['If-None-Match: the weak form of the tag (weak comparison)', 'GET', { 'if-none-match': `W/${ETAG}` }, notModified],
    ['If-None-Match: a list naming it', 'GET', { 'if-none-match': `"x", W/"y", ${ETAG}` }, notModified],
    ['If-None-Match: *', 'GET', { 'if-none-match': '*' }, notModified],
    ['If-None-Match: another tag', 'GET', { 'if-none-match': '"x", W/"y"' }, proceed()],
    ['If-None-Match on HEAD', 'HEAD', { 'if-none-match': `W/${ETAG}` }, notModified],
    ['If-None-Match malformed: matches nothing', 'GET', { 'if-none-match': 'abc' }, proceed()],
    // §13.1.1 If-Match: strong comparison; false → 412.
    ['If-Match: the tag', 'GET', { 'if-match': ETAG }, proceed()],
    ['If-Match: *', 'GET', { 'if-match': '*' }, proceed()],
    ['If-Match: a list naming it', 'GET', { 'if-match': `"x", ${ETAG}` }, proceed()],
    ['If-Match: the weak form never matches (strong comparison)', 'GET', { 'if-match': `W/${ETAG}` }, failed],
    ['If-Match: another tag', 'GET', { 'if-match': '"x"' }, failed],
    ['If-Match malformed', 'GET', { 'if-match': 'abc' }, failed],
    // §13.1.4 If-Unmodified-Since, only without If-Match.
    ['If-Unmodified-Since before the change', 'GET', { 'if-unmodified-since': BEFORE }, failed],
    ['If-Unmodified-Since the same second', 'GET', { 'if-unmodified-since': SAME }, proceed()],
    ['If-Unmodified-Since after', 'GET', { 'if-unmodified-since': AFTER }, proceed()],
    ['If-Unmodified-Since not a date: ignored', 'GET', { 'if-unmodified-since': 'soon' }, proceed()],
    ['If-Match true wins over If-Unmodified-Since', 'GET', { 'if-match': ETAG, 'if-unmodified-since': BEFORE }, proceed()],
    // §13.1.3 If-Modified-Since, only without If-None-Match, GET and HEAD.
    ['If-Modified-Since the same second', 'GET', { 'if-modified-since': SAME }, notModified],
    ['If-Modified-Since after', 'HEAD', { 'if-modified-since': AFTER }, notModified],
    ['If-Modified-Since before', 'GET', { 'if-modified-since': BEFORE }, proceed()],
    ['If-Modified-Since not a date: ignored', 'GET', { 'if-modified-since': 'soon' }, proceed()],
    ['If-None-Match present: If-Modified-Since ignored', 'GET', { 'if-none-match': '"x"', 'if-modified-since': AFTER }, proceed()],
    // §13.2.2 order: If-Match before If-None-Match; If-None-Match before If-Modified-Since.
    ['If-Match false beats If-None-Match', 'GET', { 'if-match': '"x"', 'if-none-match': ETAG }, failed],
    ['If-Match true, then If-None-Match', 'GET', { 'if-match': ETAG, 'if-none-match': ETAG }, notModified],
    ['If-Unmodified-Since false beats If-None-Match', 'GET', { 'if-unmodified-since': BEFORE, 'if-none-match': ETAG }, failed],
    ['If-None-Match false beats If-Range', 'GET', { 'if-none-match': ETAG, range: 'bytes=0-1', 'if-range': ETAG }, notModified],
    // §14.2: Range applies to GET only; §13.1.5 If-Range: strong comparison, or the exact date.
    ['Range alone', 'GET', { range: 'bytes=0-1' }, proceed('bytes=0-1')],
    ['Range on HEAD is ignored', 'HEAD', { range: 'bytes=0-1' }, proceed()],
    ['If-Range: the tag', 'GET', { range: 'bytes=0-1', 'if-range': ETAG }, proceed('bytes=0-1')],
    ['If-Range: the weak form (never matches)', 'GET', { range: 'bytes=0-1', 'if-range': `W/${ETAG}` }, proceed()],
    ['If-Range: another tag', 'GET', { range: 'bytes=0-1', 'if-range': '"x"' }, proceed()],
    ['If-Range: the Last-Modified date', 'GET', { range: 'bytes=0-1', 'if-range': SAME }, proceed('bytes=0-1')],
    ['If-Range: another date', 'GET', { range: 'bytes=0-1', 'if-range': AFTER }, proceed()],
    ['If-Range: garbage', 'GET', { range: 'bytes=0-1', 'if-range': 'abc' }, proceed()],
    ['If-Range without Range', 'GET', { 'if-range': ETAG }, proceed()],
  ];

  it.each(cases)('%s', (_name, method, headers, expected) => {
    expect(evaluateConditions(method, headers, rep, NOW)).toEqual(expected);
  });

  it('ignores the date conditions when the representation has no modification date', () => {
    const bare = { etag: ETAG };
    expect(evaluateConditions('GET', { 'if-unmodified-since': BEFORE }, bare, NOW)).toEqual(proceed());
    expect(evaluateConditions('GET', { 'if-modified-since': AFTER }, bare, NOW)).toEqual(proceed());
    expect(evaluateConditions('GET', { range: 'bytes=0-1', 'if-range': SAME }, bare, NOW)).toEqual(proceed());
  });

  it('takes an If-Range date as strong only once its second is over (§8.8.2.2)', () => {
    const justChanged = Date.parse('2024-01-01T00:00:00.900Z');
    expect(evaluateConditions('GET', { range: 'bytes=0-1', 'if-range': SAME }, rep, justChanged)).toEqual(proceed());
  });
});
