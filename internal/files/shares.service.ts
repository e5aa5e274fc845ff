/**
 * Share links: a token (256 random bits) to one file or folder, with an optional password,
 * expiry and download limit. Visitors need no account; a folder share lets them browse inside
 * that folder only (every id is checked to lie in the shared subtree). A trashed item's shares
 * answer NOT_FOUND until it is restored. Expiry, limits and revocation are checked on every
 * request, so they take effect at once, also for downloads under way that ask for more ranges.
 *
 * Download counting rule: a download is counted when the last byte of the file has been sent,
 * so a whole-file GET counts once, and a file fetched in several ranges counts once (for the
 * range that ends the file), never once per range request.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import { hashPassword, verifyPassword } from '../platform/auth/password-hash.ts';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { BlobRow, FileRow } from './files.entities.ts';
import type { FilesRepository, Page } from './files.repository.ts';
import { toDto, type Connection, type FileDto, type FilesService } from './files.service.ts';
import { ShareRow } from './shares.entities.ts';
import type { SharesRepository } from './shares.repository.ts';
import { copyTree } from './tree-copy.ts';

export const UNLOCK_TTL_S = 3600;
const WRONG_PASSWORDS_PER_TOKEN = 10;
const WRONG_PASSWORDS_PER_IP = 30;
const WINDOW_MS = 15 * 60_000;

export interface ShareDto {
  id: string;
  token: string;
  fileId: string;
  expiresAt: string | null;
  maxDownloads: number | null;
  downloads: number;
  views: number;
  createdAt: string;
  hasPassword: boolean;
}

export interface ShareSettings {
  password?: string | null;
  expiresAt?: string | null;
  maxDownloads?: number | null;
}

/** How a visitor proves they know a password share's password. */
export interface ShareKey {
  password?: string | null;
  unlockToken?: string | null;
  ip?: string | undefined;
}

const gone = (reason: string) => new AppError('NOT_FOUND', 'This share link does not exist or has ended', { details: { reason } });

function dto(row: ShareRow): ShareDto {
  return {
    id: row.id, token: row.token, fileId: row.fileId, expiresAt: row.expiresAt?.toISOString() ?? null, maxDownloads: row.maxDownloads,
    downloads: row.downloads, views: row.views, createdAt: row.createdAt.toISOString(), hasPassword: row.passwordHash !== null,
  };
}

export class SharesService {
  constructor(
    private readonly repo: SharesRepository,
    private readonly filesRepo: FilesRepository,
    private readonly files: FilesService,
    private readonly tokens: TokenSigner,
    private readonly kv: KeyValueStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(viewer: Viewer, fileId: string, settings: ShareSettings): Promise<ShareDto> {
    const node = await this.files.node(viewer, fileId);
    if (node.parentId === null) throw new AppError('BAD_INPUT', 'The root folder cannot be shared', { details: { reason: 'root' } });
    const now = this.now();
    const row = Object.assign(new ShareRow(), {
      id: randomUUID(), ownerId: viewer.userId, fileId: node.id, token: randomBytes(32).toString('base64url'),
      passwordHash: null as string | null, expiresAt: null as Date | null, maxDownloads: null as number | null,
      downloads: 0, views: 0, revokedAt: null, createdAt: now, updatedAt: now,
    });
    Object.assign(row, await this.settings(settings));
    await this.repo.insert(row);
    return dto(row);
  }

  async list(viewer: Viewer): Promise<ShareDto[]> {
    return (await this.repo.listOwned(viewer.userId)).map(dto);
  }

  async update(viewer: Viewer, id: string, settings: ShareSettings): Promise<ShareDto> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such share');
    const changes = await this.settings(settings);
    await this.repo.update(row.id, changes);
    return dto(Object.assign(row, changes));
  }

  async revoke(viewer: Viewer, id: string): Promise<boolean> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such share');
    await this.repo.update(row.id, { revokedAt: this.now() });
    return true;
  }

  /** The share behind a token, checked: live, within its limits, unlocked, its item not trashed. */
  async open(token: string, key: ShareKey, options: { countView?: boolean } = {}): Promise<{ share: ShareRow; root: FileRow }> {
    const share = await this.live(token);
    await this.checkKey(share, key);
    const root = await this.filesRepo.findLive(share.ownerId, share.fileId);
    if (!root || root.trashKey !== '') throw gone('share_item_gone');
    if (options.countView) await this.repo.addView(share.id);
    return { share, root };
  }

  /** A short-lived token proving the visitor knew the password (sent as Bearer to /s/...). */
  async unlock(token: string, password: string, ip: string | undefined): Promise<string> {
    const { share } = await this.open(token, { password, ip });
    return this.tokens.sign('share', share.id, {}, UNLOCK_TTL_S);
  }

  /** A node inside the shared item: the root itself, or anything below a shared folder. */
  async node(token: string, key: ShareKey, id: string | null): Promise<{ share: ShareRow; node: FileRow }> {
    const { share, root } = await this.open(token, key);
    if (id === null || id === root.id) return { share, node: root };
    const node = await this.filesRepo.findLive(share.ownerId, id);
    // The path of a node lists its ancestors: outside the shared folder means not found.
    if (!node || node.trashKey !== '' || !node.path.startsWith(root.path)) throw new AppError('NOT_FOUND', 'No such file in this share');
    return { share, node };
  }

  async children(token: string, key: ShareKey, folderId: string | null, page: Page): Promise<Connection> {
    const { share, node } = await this.node(token, key, folderId);
    if (!node.isFolder) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    return this.files.children({ userId: share.ownerId, username: '', isAdmin: false }, node.id, page);
  }

  async content(token: string, key: ShareKey, fileId: string | null): Promise<{ shareId: string; file: FileDto; blob: BlobRow }> {
    const { share, node } = await this.node(token, key, fileId);
    if (share.maxDownloads !== null && share.downloads >= share.maxDownloads) throw gone('share_exhausted');
    const { file, blob } = await this.files.content({ userId: share.ownerId, username: '', isAdmin: false }, node.id);
    return { shareId: share.id, file, blob };
  }

  async countDownload(shareId: string): Promise<void> {
    await this.repo.addDownload(shareId);
  }

  /** Puts the shared item into the viewer's drive by reference to the same blobs: no bytes copied. */
  async save(viewer: Viewer, token: string, key: ShareKey, targetFolderId: string | null): Promise<FileDto> {
    const { share, root } = await this.open(token, key);
    const target = await this.files.folder(viewer, targetFolderId);
    const copy = await copyTree(this.filesRepo, { ownerId: share.ownerId, root }, { ownerId: viewer.userId, folder: target });
    return toDto(copy);
  }

  private async live(token: string): Promise<ShareRow> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw gone('share_unknown');
    const share = await this.repo.findByToken(token);
    // Constant-time compare after the indexed lookup, so timing says nothing about near misses.
    if (!share || !timingSafeEqual(Buffer.from(share.token), Buffer.from(token))) throw gone('share_unknown');
    if (share.revokedAt) throw gone('share_revoked');
    if (share.expiresAt && share.expiresAt.getTime() <= this.now().getTime()) throw gone('share_expired');
    if (share.maxDownloads !== null && share.downloads >= share.maxDownloads) throw gone('share_exhausted');
    return share;
  }

  private async checkKey(share: ShareRow, key: ShareKey): Promise<void> {
    if (!share.passwordHash) return;
    if (key.unlockToken) {
      const claims = await this.tokens.verify('share', key.unlockToken).catch(() => null);
      if (claims?.sub === share.id) return;
    }
    if (!key.password) throw new AppError('UNAUTHENTICATED', 'This share needs a password', { details: { reason: 'share_password_required' } });
    const perToken = `share:pw:${share.id}`;
    const perIp = `share:pwip:${key.ip ?? 'unknown'}`;
    const [t, i] = await Promise.all([this.kv.get(perToken), this.kv.get(perIp)]);
    if (Number(t ?? 0) >= WRONG_PASSWORDS_PER_TOKEN || Number(i ?? 0) >= WRONG_PASSWORDS_PER_IP) {
      throw new AppError('RATE_LIMITED', 'Too many wrong passwords; try again later', { retryAfter: WINDOW_MS / 1000, details: { reason: 'share_password_attempts' } });
    }
    if (!(await verifyPassword(key.password, share.passwordHash))) {
      await Promise.all([this.kv.incr(perToken, WINDOW_MS), this.kv.incr(perIp, WINDOW_MS)]);
      throw new AppError('UNAUTHENTICATED', 'Wrong password', { details: { reason: 'share_password' } });
    }
  }

  private async settings(input: ShareSettings): Promise<Partial<ShareRow>> {
    const out: Partial<ShareRow> = {};
    if (input.password !== undefined) {
      if (input.password !== null && (input.password.length < 4 || input.password.length > 128)) {
        throw new AppError('BAD_INPUT', 'A share password has 4 to 128 characters', { details: { field: 'password', reason: 'share_password_length' } });
      }
      out.passwordHash = input.password ? await hashPassword(input.password) : null;
    }
    if (input.expiresAt !== undefined) {
      const at = input.expiresAt === null ? null : new Date(input.expiresAt);
      if (at && (Number.isNaN(at.getTime()) || at.getTime() <= this.now().getTime())) {
        throw new AppError('BAD_INPUT', 'expiresAt must be in the future', { details: { field: 'expiresAt', reason: 'expiry_in_past' } });
      }
      out.expiresAt = at;
    }
    if (input.maxDownloads !== undefined) {
      if (input.maxDownloads !== null && (!Number.isInteger(input.maxDownloads) || input.maxDownloads < 1)) {
        throw new AppError('BAD_INPUT', 'maxDownloads must be at least 1', { details: { field: 'maxDownloads', reason: 'max_downloads' } });
      }
      out.maxDownloads = input.maxDownloads;
    }
    return out;
  }
}
