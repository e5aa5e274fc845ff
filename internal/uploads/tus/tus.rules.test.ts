/** The pure tus rules: headers, metadata, checksum, the file's target, and offsets from chunks + tail. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.ts';
import { assertTusResumable, chunkLengthOf, httpDate, parseChecksum, parseMetadata, parseNonNegative, targetOf, tusOffset } from './tus.rules.ts';

const reasonOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return error instanceof AppError ? error.details?.reason : 'not an AppError';
  }
  return undefined;
};
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

describe('Tus-Resumable and numeric headers', () => {
  it('accepts 1.0.0 only', () => {
    expect(reasonOf(() => assertTusResumable('1.0.0'))).toBeUndefined();
    expect(reasonOf(() => assertTusResumable(undefined))).toBe('tus_version');
    expect(reasonOf(() => assertTusResumable('0.2.2'))).toBe('tus_version');
  });

  it('Upload-Length and Upload-Offset are non-negative integers', () => {
    expect(parseNonNegative('Upload-Length', '0')).toBe(0);
    expect(parseNonNegative('Upload-Length', '5497558138880')).toBe(5 * 1024 ** 4);
    expect(parseNonNegative('Upload-Offset', undefined)).toBeNull();
    for (const bad of ['-1', '1.5', 'ten', '', '99999999999999999']) {
      expect(reasonOf(() => parseNonNegative('Upload-Offset', bad))).toBe('offset_invalid');
      expect(reasonOf(() => parseNonNegative('Upload-Length', bad))).toBe('size_invalid');
    }
  });

  it('Upload-Expires is an RFC 9110 IMF-fixdate', () => {
    expect(httpDate(new Date('2026-12-06T09:30:05.123Z'))).toBe('Sun, 06 Dec 2026 09:30:05 GMT');
  });
});

describe('Upload-Metadata', () => {
  it('decodes Base64 values (UTF-8), keys without a value, and none at all', () => {
    const meta = parseMetadata(`filename ${b64('résumé 1.pdf')},filetype ${b64('application/pdf')},is_confidential`);
    expect([...meta]).toEqual([['filename', 'résumé 1.pdf'], ['filetype', 'application/pdf'], ['is_confidential', '']]);
    expect(parseMetadata(undefined).size).toBe(0);
    expect(parseMetadata('  ').size).toBe(0);
  });

  it('refuses duplicate keys, empty keys, extra spaces, non-Base64 and non-UTF-8 values, and a huge header', () => {
    for (const bad of [`a ${b64('x')},a ${b64('y')}`, `a ${b64('x')},,b ${b64('y')}`, `a ${b64('x')} extra`, 'a not*base64', `a ${Buffer.from([0xff, 0xfe]).toString('base64')}`, `a ${'A'.repeat(9000)}`]) {
      expect(reasonOf(() => parseMetadata(bad)), bad.slice(0, 40)).toBe('metadata_invalid');
    }
  });

  it('the target: filename (or name), a media type or none, parentId unless the principal forces a folder', () => {
    const meta = new Map([['filename', 'a.txt'], ['filetype', 'Text/Plain'], ['parentId', 'f1']]);
    expect(targetOf(meta, null)).toEqual({ name: 'a.txt', mimeType: 'text/plain', parentId: 'f1' });
    expect(targetOf(meta, 'drop-folder')).toEqual({ name: 'a.txt', mimeType: 'text/plain', parentId: 'drop-folder' });
    expect(targetOf(new Map([['name', 'b.bin'], ['filetype', '']]), null)).toEqual({ name: 'b.bin', mimeType: null, parentId: null });
    expect(reasonOf(() => targetOf(new Map([['filetype', 'text/plain']]), null))).toBe('name_empty');
  });
});

describe('Upload-Checksum', () => {
  it('sha1 and sha256 with a Base64 digest of the right length', () => {
    const sha1 = createHash('sha1').update('abc').digest();
    expect(parseChecksum(`sha1 ${sha1.toString('base64')}`)).toEqual({ algorithm: 'sha1', digest: sha1 });
    const sha256 = createHash('sha256').update('abc').digest();
    expect(parseChecksum(`sha256 ${sha256.toString('base64')}`)?.digest.equals(sha256)).toBe(true);
    expect(parseChecksum(undefined)).toBeNull();
  });

  it('an unsupported algorithm is checksum_algorithm (400); a malformed header or digest checksum_invalid', () => {
    expect(reasonOf(() => parseChecksum('md5 1B2M2Y8AsgTpgAmY7PhCfg=='))).toBe('checksum_algorithm');
    expect(reasonOf(() => parseChecksum('sha1'))).toBe('checksum_invalid');
    expect(reasonOf(() => parseChecksum('SHA1 qZk+NkcGgWq6PiVxeFDCbJzQ2J0='))).toBe('checksum_invalid');
    expect(reasonOf(() => parseChecksum(`sha256 ${createHash('sha1').update('x').digest('base64')}`))).toBe('checksum_invalid');
  });
});

describe('offsets from recorded chunks and the tail', () => {
  const plan = { size: 20 * 2 ** 20 + 5, chunkSize: 8 * 2 ** 20, chunkCount: 3 };

  it('chunk lengths: whole chunks, then the rest', () => {
    expect([0, 1, 2].map((i) => chunkLengthOf(plan, i))).toEqual([8 * 2 ** 20, 8 * 2 ** 20, 4 * 2 ** 20 + 5]);
  });

  it('the unbroken run of chunks from 0, plus a tail that continues it', () => {
    expect(tusOffset(plan, new Set(), null)).toEqual({ offset: 0, nextIndex: 0, tailLength: 0 });
    expect(tusOffset(plan, new Set(), { index: 0, length: 100 })).toEqual({ offset: 100, nextIndex: 0, tailLength: 100 });
    expect(tusOffset(plan, new Set([0]), { index: 1, length: 7 })).toEqual({ offset: 8 * 2 ** 20 + 7, nextIndex: 1, tailLength: 7 });
  });

  it('a stale tail (its chunk recorded since) and chunks past a gap do not count', () => {
    expect(tusOffset(plan, new Set([0]), { index: 0, length: 100 })).toEqual({ offset: 8 * 2 ** 20, nextIndex: 1, tailLength: 0 });
    expect(tusOffset(plan, new Set([0, 2]), null)).toEqual({ offset: 8 * 2 ** 20, nextIndex: 1, tailLength: 0 });
  });

  it('every chunk in: the whole size; a tail as long as its chunk is not a tail', () => {
    expect(tusOffset(plan, new Set([0, 1, 2]), { index: 3, length: 1 })).toEqual({ offset: plan.size, nextIndex: 3, tailLength: 0 });
    expect(tusOffset(plan, new Set([0, 1]), { index: 2, length: 4 * 2 ** 20 + 5 }).tailLength).toBe(0);
  });
});
