/**
 * Compares a presented MAC with the expected one as TEXT, in constant time. Comparing the bytes
 * base64url decodes to is not enough: a 32-byte MAC is 43 characters whose last one carries 2
 * unused bits, and Node's decoder ignores them, so up to four spellings of the last character
 * decode alike ("…A" and "…B" open the same link). RFC 4648 §3.5: "canonical encoding" requires
 * those pad bits to be zero; a signature is accepted only in the one spelling the signer wrote.
 */
import { timingSafeEqual } from 'node:crypto';

export function sameMac(presented: string, expected: string): boolean {
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
