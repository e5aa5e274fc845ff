/**
 * Conditional requests (RFC 9110 §13) for every download (files, shares, versions): one function
 * decides, from the request's precondition headers and the representation's validators, whether
 * to answer 304, 412, or go on — and which Range header, if any, still applies (§13.1.5, §14.2).
 *
 * - Entity tags (§8.8.3): `If-None-Match` uses the weak comparison, `If-Match` and `If-Range` the
 *   strong one; `*` matches any current representation; lists may carry empty elements.
 * - Dates (§5.6.7): IMF-fixdate, RFC 850 and asctime, compared at one-second precision; a date
 *   that does not parse is ignored, as the date conditions are when there is no Last-Modified.
 * - Order (§13.2.2): If-Match, else If-Unmodified-Since (→ 412); If-None-Match, else
 *   If-Modified-Since (→ 304 for GET/HEAD); then If-Range decides whether Range applies.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface EntityTag {
  weak: boolean;
  /** The opaque-tag with its double quotes, as it appears on the wire. */
  opaque: string;
}

export interface Validators {
  /** A strong entity-tag, quoted: `"<contentHash>"`. */
  etag: string;
  lastModified?: Date;
}

export type Conditions =
  /** Serve the representation; `range` is the Range header still to honour (GET only). */
  | { outcome: 'proceed'; range: string | undefined }
  | { outcome: 'not-modified' }
  | { outcome: 'precondition-failed' };

/** §8.8.3.2: strong comparison — both strong and the opaque-tags identical. */
export function strongMatch(a: EntityTag, b: EntityTag): boolean {
  return !a.weak && !b.weak && a.opaque === b.opaque;
}

/** §8.8.3.2: weak comparison — the opaque-tags identical, weak or not. */
export function weakMatch(a: EntityTag, b: EntityTag): boolean {
  return a.opaque === b.opaque;
}

// entity-tag = [ weak ] opaque-tag; weak = %s"W/"; opaque-tag = DQUOTE *etagc DQUOTE;
// etagc = %x21 / %x23-7E / obs-text. "W/" is case-sensitive.
const ENTITY_TAG = /^(W\/)?("[\x21\x23-\x7e\x80-\xff]*")/;

/**
 * `*`, the list of entity-tags (`#entity-tag`, empty elements allowed by §5.6.1), or null when the
 * field is malformed (which then matches nothing).
 */
export function parseEntityTags(value: string): '*' | EntityTag[] | null {
  const trimmed = value.trim();
  if (trimmed === '*') return '*';
  const tags: EntityTag[] = [];
  let rest = trimmed;
  while (rest.length > 0) {
    rest = rest.replace(/^[\s,]+/, '');
    if (rest.length === 0) break;
    const match = ENTITY_TAG.exec(rest);
    if (!match?.[2]) return null;
    tags.push({ weak: match[1] !== undefined, opaque: match[2] });
    rest = rest.slice(match[0].length).replace(/^[ \t]+/, '');
    if (rest.length > 0 && !rest.startsWith(',')) return null;
  }
  return tags;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const IMF_FIXDATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC_850 = /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d{2})-(\w{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (\w{3}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

/** An HTTP-date in any of the three formats of §5.6.7, or null. `now` settles RFC 850's century. */
export function parseHttpDate(value: string, now: number = Date.now()): Date | null {
  const text = value.trim();
  let parts: [day: string, month: string, year: number, h: string, m: string, s: string] | null = null;
  let m = IMF_FIXDATE.exec(text);
  if (m) parts = [m[1]!, m[2]!, Number(m[3]), m[4]!, m[5]!, m[6]!];
  else if ((m = RFC_850.exec(text))) {
    // "Recipients of a timestamp value in rfc850-date format, which uses a two-digit year, MUST
    // interpret a timestamp that appears to be more than 50 years in the future as representing
    // the most recent year in the past that had the same last two digits."
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    parts = [m[1]!, m[2]!, year, m[4]!, m[5]!, m[6]!];
  } else if ((m = ASCTIME.exec(text))) parts = [m[2]!.trim(), m[1]!, Number(m[6]), m[3]!, m[4]!, m[5]!];
  if (!parts) return null;
  const [day, month, year, hh, mm, ss] = parts;
  const monthIndex = MONTHS.indexOf(month);
  const [d, h, min, s] = [Number(day), Number(hh), Number(mm), Number(ss)];
  if (monthIndex < 0 || d < 1 || d > 31 || h > 23 || min > 59 || s > 60) return null;
  const date = new Date(Date.UTC(year, monthIndex, d, h, min, Math.min(s, 59)));
  // Refuse dates that roll over (31 Feb).
  return date.getUTCDate() === d ? date : null;
}

/** The Last-Modified field value: IMF-fixdate, at one-second precision. */
export function formatHttpDate(date: Date): string {
  return date.toUTCString();
}

const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Whether a list field names the current representation, under the given comparison. */
function listMatches(value: string, current: EntityTag, compare: (a: EntityTag, b: EntityTag) => boolean): boolean {
  const tags = parseEntityTags(value);
  if (tags === '*') return true;
  return (tags ?? []).some((tag) => compare(tag, current));
}

/** §13.2.2's steps for a GET or HEAD of an existing representation. */
export function evaluateConditions(method: string, headers: IncomingHttpHeaders, validators: Validators, now: number = Date.now()): Conditions {
  const current: EntityTag = { weak: false, opaque: validators.etag };
  const modified = validators.lastModified;
  const date = (name: string): Date | null => {
    const value = header(headers, name);
    return value === undefined ? null : parseHttpDate(value, now);
  };
  // Steps 1–2: "When recipient is the origin server and If-Match is present, evaluate the
  // If-Match precondition" (strong comparison, §13.1.1); else If-Unmodified-Since (§13.1.4).
  const ifMatch = header(headers, 'if-match');
  if (ifMatch !== undefined) {
    if (!listMatches(ifMatch, current, strongMatch)) return { outcome: 'precondition-failed' };
  } else {
    const since = date('if-unmodified-since');
    if (since && modified && seconds(modified) > seconds(since)) return { outcome: 'precondition-failed' };
  }
  // Steps 3–4: If-None-Match (weak comparison, §13.1.2: "A recipient MUST use the weak comparison
  // function"); false → 304 for GET and HEAD. Else If-Modified-Since (§13.1.3), GET/HEAD only.
  const ifNoneMatch = header(headers, 'if-none-match');
  if (ifNoneMatch !== undefined) {
    if (listMatches(ifNoneMatch, current, weakMatch)) return { outcome: 'not-modified' };
  } else {
    const since = date('if-modified-since');
    if (since && modified && seconds(modified) <= seconds(since)) return { outcome: 'not-modified' };
  }
  // Step 5 and §14.2: "GET is the only method for which range handling is defined."
  const range = header(headers, 'range');
  if (method !== 'GET' || range === undefined) return { outcome: 'proceed', range: undefined };
  return { outcome: 'proceed', range: ifRangeHolds(header(headers, 'if-range'), current, modified, now) ? range : undefined };
}

/**
 * §13.1.5: "If the validator given in the If-Range header field matches the current validator
 * for the selected representation of the target resource, then the server SHOULD process the
 * Range header field"; otherwise it "MUST ignore the Range header field". An entity-tag matches
 * by strong comparison (a weak one never does); a date only when it is exactly Last-Modified and
 * that is strong — §8.8.2.2: its second is over, so the file cannot change again within it.
 */
function ifRangeHolds(value: string | undefined, current: EntityTag, modified: Date | undefined, now: number): boolean {
  if (value === undefined) return true;
  const text = value.trim();
  if (text.startsWith('"') || text.startsWith('W/')) {
    const tags = parseEntityTags(text);
    return Array.isArray(tags) && tags.length === 1 && strongMatch(tags[0]!, current);
  }
  const date = parseHttpDate(text, now);
  if (!date || !modified) return false;
  return seconds(date) === seconds(modified) && seconds(modified) < Math.floor(now / 1000);
}
