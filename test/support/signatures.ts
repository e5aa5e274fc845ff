/**
 * Signature tampering for tests: the same base64url MAC with the last character's lowest bit
 * flipped. A 32-byte MAC is 43 characters whose last one carries 2 unused bits, so the twin
 * decodes to the very same bytes; a verifier must still refuse it (platform/auth/same-mac.ts).
 */
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

export function paddingTwin(sig: string): string {
  const last = BASE64URL.indexOf(sig.at(-1) ?? '');
  if (last < 0) throw new Error(`not base64url: ${sig}`);
  return `${sig.slice(0, -1)}${BASE64URL[last ^ 1] ?? ''}`;
}
