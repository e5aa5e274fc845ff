/**
 * `Content-Digest` (RFC 9530): a Structured Fields dictionary of algorithm → byte sequence, e.g.
 * `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`. Only sha-256 is checked here; other
 * algorithms are ignored ("a recipient MAY ignore any or all digests"), but a header that names
 * sha-256 with a malformed value is refused.
 */
import { AppError } from '../../internal/platform/errors.ts';

export function parseContentDigest(header: string | undefined): Buffer | null {
  if (!header) return null;
  for (const member of header.split(',')) {
    const match = /^\s*([a-z0-9-]+)\s*=\s*(.*?)\s*$/i.exec(member);
    if (!match || match[1]?.toLowerCase() !== 'sha-256') continue;
    const value = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(match[2] ?? '');
    const digest = value?.[1] ? Buffer.from(value[1], 'base64') : null;
    if (!digest || digest.length !== 32) {
      throw new AppError('BAD_INPUT', 'Content-Digest sha-256 must be a 32-byte value in :base64: form', { details: { field: 'Content-Digest', reason: 'digest_malformed' } });
    }
    return digest;
  }
  return null;
}

export function formatContentDigest(sha256: Buffer): string {
  return `sha-256=:${sha256.toString('base64')}:`;
}
