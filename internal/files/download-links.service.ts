/**
 * Signed download links: `GET /files/{id}/content?sig=<userId>.<expires>.<mac>` downloads one of
 * the signer's files without an Authorization header, so a browser can hand the download to its
 * own download manager (an `<a download>` navigation cannot carry a Bearer header) and resume it
 * with Range requests.
 *
 * The mac is HMAC-SHA-256 over the file id, the person and the expiry (Unix seconds), under a key
 * derived from the JWT secret for this one purpose (so it can never be confused with a token).
 * A link is bound to one file and one person, lives five minutes, and is checked against the
 * file on every request: trashed, purged or someone else's files answer NOT_FOUND like any
 * unknown id. A link is a bearer credential for five minutes; it carries no other right.
 *
 * A version's link (`GET /files/{id}/versions/{versionId}/content?sig=`) is the same with the
 * version id as a fourth line of the signed message: it opens that version of that file only,
 * never the current content or another version, and a file's link opens no version.
 */
import { createHmac } from 'node:crypto';
import { sameMac } from '../platform/auth/same-mac.ts';
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { locationOf, type BlobLocation, type ContentDto } from './files.dto.ts';
import type { FilesService } from './files.service.ts';
import type { VersionContentDto } from './versions/versions.service.ts';

/** What the links open: the current content, and older versions. */
export interface LinkTargets {
  content: FilesService['content'];
  versionContent?: (viewer: Viewer, fileId: string, versionId: string) => Promise<VersionContentDto>;
}

/** Long enough to start a download after a slow click, short enough that a leaked link soon dies. */
export const DOWNLOAD_LINK_SECONDS = 300;

const SIG = /^([A-Za-z0-9_-]{1,64})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

const invalid = (reason: 'download_link_invalid' | 'download_link_expired') =>
  new AppError('NOT_FOUND', reason === 'download_link_expired' ? 'This download link has expired' : 'No such file or folder', { details: { reason } });

export class DownloadLinks {
  private readonly key: Buffer;

  constructor(
    jwtSecret: Uint8Array,
    private readonly files: LinkTargets,
    private readonly now: () => number = Date.now,
  ) {
    this.key = createHmac('sha256', jwtSecret).update('stratus download links v1').digest();
  }

  /**
   * A signature for one of the viewer's live files, or for one of its versions (NOT_FOUND
   * otherwise), valid five minutes.
   */
  async create(viewer: Viewer, fileId: string, versionId?: string): Promise<{ sig: string; expiresAt: string }> {
    if (versionId === undefined) await this.files.content(viewer, fileId);
    else await this.versionContent(viewer, fileId, versionId);
    const expires = Math.floor(this.now() / 1000) + DOWNLOAD_LINK_SECONDS;
    return { sig: `${viewer.userId}.${expires}.${this.mac(fileId, viewer.userId, expires, versionId)}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** The version a signature opens, checked as its signer would be. */
  async openVersion(fileId: string, versionId: string, sig: string): Promise<VersionContentDto> {
    const userId = this.verify(fileId, sig, versionId);
    return this.versionContent({ userId, username: '', isAdmin: false }, fileId, versionId);
  }

  private versionContent(viewer: Viewer, fileId: string, versionId: string): Promise<VersionContentDto> {
    if (!this.files.versionContent) throw new AppError('INTERNAL', 'download links were built without versions');
    return this.files.versionContent(viewer, fileId, versionId);
  }

  /** The file and blob a signature opens, checked as its signer would be. */
  async open(fileId: string, sig: string): Promise<ContentDto<BlobLocation>> {
    const userId = this.verify(fileId, sig);
    const { file, blob } = await this.files.content({ userId, username: '', isAdmin: false }, fileId);
    return { file, blob: locationOf(blob) };
  }

  /** The signer's id, or NOT_FOUND for a forged, altered, foreign or expired signature. */
  verify(fileId: string, sig: string, versionId?: string): string {
    const match = SIG.exec(sig);
    if (!match?.[1] || !match[2] || !match[3]) throw invalid('download_link_invalid');
    const [userId, expires, mac] = [match[1], Number(match[2]), match[3]];
    if (!sameMac(mac, this.mac(fileId, userId, expires, versionId))) throw invalid('download_link_invalid');
    if (expires * 1000 <= this.now()) throw invalid('download_link_expired');
    return userId;
  }

  private mac(fileId: string, userId: string, expires: number, versionId?: string): string {
    // Newline-separated: ids never contain one, so no two inputs share a message; a version's
    // message has a fourth line, so a file's link and a version's never verify for each other.
    const message = `${fileId}\n${userId}\n${expires}${versionId === undefined ? '' : `\n${versionId}`}`;
    return createHmac('sha256', this.key).update(message).digest('base64url');
  }
}
