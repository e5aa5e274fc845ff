/**
 * Signed thumbnail URLs: `GET /files/{id}/thumbnail?size=&v=&sig=<userId>.<expires>.<mac>`, which
 * an `<img>` loads without an Authorization header. The mac is HMAC-SHA-256 over the file id, the
 * person, the size and the expiry, under a key derived from the JWT secret for this one purpose
 * (never valid as a download link or a token). The expiry is the end of the next UTC day: the URL
 * stays the same all day, so the browser's cache keeps serving it, and a leaked one opens one
 * thumbnail of one file for at most two days. Every request checks the file again (trashed,
 * purged, someone else's: NOT_FOUND).
 */
import { createHmac } from 'node:crypto';
import { sameMac } from '../platform/auth/same-mac.ts';
import { AppError } from '../platform/errors.ts';
import type { ThumbnailSize } from './thumbnails.rules.ts';

const DAY_SECONDS = 86_400;
const SIG = /^([A-Za-z0-9_-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

const invalid = () => new AppError('NOT_FOUND', 'No such file or folder', { details: { reason: 'download_link_invalid' } });

export class ThumbnailLinks {
  private readonly key: Buffer;

  constructor(jwtSecret: Uint8Array, private readonly now: () => number = Date.now) {
    this.key = createHmac('sha256', jwtSecret).update('stratus thumbnail links v1').digest();
  }

  sign(userId: string, fileId: string, size: ThumbnailSize): { sig: string; expires: number } {
    const expires = (Math.floor(this.now() / 1000 / DAY_SECONDS) + 2) * DAY_SECONDS;
    return { sig: `${userId}.${expires}.${this.mac(fileId, userId, size, expires)}`, expires };
  }

  /** The signer's id and the expiry, or NOT_FOUND for a forged, altered, foreign or expired signature. */
  verify(fileId: string, size: ThumbnailSize, sig: string): { userId: string; expires: number } {
    const match = SIG.exec(sig);
    if (!match?.[1] || !match[2] || !match[3]) throw invalid();
    const [userId, expires, mac] = [match[1], Number(match[2]), match[3]];
    if (!sameMac(mac, this.mac(fileId, userId, size, expires))) throw invalid();
    if (expires * 1000 <= this.now()) throw invalid();
    return { userId, expires };
  }

  private mac(fileId: string, userId: string, size: ThumbnailSize, expires: number): string {
    return createHmac('sha256', this.key).update(`${fileId}\n${userId}\n${size}\n${expires}`).digest('base64url');
  }
}
