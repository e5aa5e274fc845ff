/**
 * Share links: a token (256 random bits) to one file or folder, with an optional password,
 * expiry and download limit. Visitors need no account; a folder share lets them browse inside
 * that folder only (every id is checked to lie in the shared subtree). A trashed item's shares
 * answer NOT_FOUND until it is restored. Expiry and revocation are checked on every request, so
 * they take effect at once, also for downloads under way that ask for more ranges.
 *
 * Download counting rule (share-slots.service.ts): a download takes its slot atomically before its first
 * byte goes, so `maxDownloads` is never exceeded, whatever runs in parallel; a resume of that
 * download (If-Range) by the same client continues it without a new slot. saveShare copies the
 * whole item, so it takes a slot too.
 */
import { eventBy, type ActivityAction, type ActivityInput } from '../activity/index.ts';
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import { hashPassword, verifyPassword } from '../platform/auth/password-hash.ts';
import { AppError, type ErrorReason } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import { RateLimiter, type Budget } from '../platform/rate-limit.ts';
import type { Viewer } from '../platform/request-context.ts';
import { locationOf, toFileDto, type BlobLocation, type Connection, type FileDto } from './files.dto.ts';
import type { FileRow } from './files.entities.ts';
import type { Page } from './files.paging.ts';
import type { FilesRepository } from './files.repository.ts';
import type { FilesService } from './files.service.ts';
import { ShareSlots, type DownloadClient } from './share-slots.service.ts';
import { toShareDto, type OpenedShareDto, type ShareDto } from './shares.dto.ts';
import type { ShareRow } from './shares.entities.ts';
import type { SharesRepository } from './shares.repository.ts';
import { passwordBinding } from './share-unlock.rules.ts';

export const UNLOCK_TTL_S = 3600;
const WRONG_PASSWORDS_PER_TOKEN = 10;
const WRONG_PASSWORDS_PER_IP = 30;
const WINDOW_MS = 15 * 60_000;
/** Wrong passwords per link and per client address; a refusal asks to wait the whole window. */
const WRONG_PASSWORD = { windowMs: WINDOW_MS, retryAfterMs: WINDOW_MS, reason: 'share_password_attempts', message: 'Too many wrong passwords; try again later' } as const;
const wrongPasswords = (shareId: string, ip: string | undefined): Budget[] => [
  { key: `share:pw:${shareId}`, limit: WRONG_PASSWORDS_PER_TOKEN, ...WRONG_PASSWORD },
  { key: `share:pwip:${ip ?? 'unknown'}`, limit: WRONG_PASSWORDS_PER_IP, ...WRONG_PASSWORD },
];

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

const gone = (reason: ErrorReason) => new AppError('NOT_FOUND', 'This share link does not exist or has ended', { details: { reason } });

const exhausted = (share: ShareRow) => share.maxDownloads !== null && share.downloads >= share.maxDownloads;

/** Who the owner's files are read as when a visitor opens them through a share. */
const ownerOf = (share: ShareRow) => ({ userId: share.ownerId, username: '', isAdmin: false });
/** What a visitor did through a share, for its owner's activity (a visitor has no name). */
const visitorEvent = (share: ShareRow, action: ActivityAction, file: FileRow): ActivityInput => ({ ownerId: share.ownerId, action, file: { id: file.id, name: file.name }, shareId: share.id, actorName: null });

export class SharesService {
  private readonly slots: ShareSlots;
  private readonly limiter: RateLimiter;

  constructor(
    private readonly repo: SharesRepository,
    private readonly filesRepo: FilesRepository,
    private readonly files: FilesService,
    private readonly tokens: TokenSigner,
    kv: KeyValueStore,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.slots = new ShareSlots(repo, kv);
    this.limiter = new RateLimiter(kv);
  }

  async create(viewer: Viewer, fileId: string, settings: ShareSettings): Promise<ShareDto> {
    const node = await this.files.node(viewer, fileId);
    if (node.parentId === null) throw new AppError('BAD_INPUT', 'The root folder cannot be shared', { details: { reason: 'root' } });
    const row = await this.repo.insert({
      id: randomUUID(), ownerId: viewer.userId, fileId: node.id, token: randomBytes(32).toString('base64url'),
      passwordHash: null, expiresAt: null, maxDownloads: null, ...(await this.settings(settings)),
    }, this.now(), eventBy(viewer, 'SHARE_CREATED', node));
    return toShareDto(row);
  }

  async list(viewer: Viewer): Promise<ShareDto[]> {
    return (await this.repo.listOwned(viewer.userId)).map(toShareDto);
  }

  async update(viewer: Viewer, id: string, settings: ShareSettings): Promise<ShareDto> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such share');
    const changes = await this.settings(settings);
    await this.repo.update(row.id, changes);
    return toShareDto(Object.assign(row, changes));
  }

  async revoke(viewer: Viewer, id: string): Promise<boolean> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such share');
    await this.repo.update(row.id, { revokedAt: this.now() });
    return true;
  }

  /** A visitor opens a link (counted as a view): its limits and the shared item. */
  async open(token: string, key: ShareKey): Promise<OpenedShareDto> {
    const { share, root } = await this.opened(token, key, { countView: true });
    return { token: share.token, expiresAt: share.expiresAt?.toISOString() ?? null, hasPassword: share.passwordHash !== null, root: toFileDto(root) };
  }

  /** The share behind a token, checked: live, within its limits, unlocked, its item not trashed. */
  private async opened(token: string, key: ShareKey, options: { countView?: boolean; exhaustedOk?: boolean } = {}): Promise<{ share: ShareRow; root: FileRow }> {
    const share = await this.live(token, options.exhaustedOk === true);
    await this.checkKey(share, key);
    const root = await this.filesRepo.findLive(share.ownerId, share.fileId);
    if (!root || root.trashKey !== '') throw gone('share_item_gone');
    if (options.countView) await this.repo.addView(share.id, visitorEvent(share, 'SHARE_OPENED', root));
    return { share, root };
  }

  /** A short-lived token proving the visitor knew the password (sent as Bearer to /s/...). */
  async unlock(token: string, password: string, ip: string | undefined): Promise<string> {
    const { share } = await this.opened(token, { password, ip });
    return this.tokens.sign('share', share.id, { pw: passwordBinding(share.passwordHash) }, UNLOCK_TTL_S);
  }

  /** A node inside the shared item: the root itself, or anything below a shared folder. */
  async node(token: string, key: ShareKey, id: string | null): Promise<FileDto> {
    return toFileDto((await this.nodeOf(token, key, id)).node);
  }

  private async nodeOf(token: string, key: ShareKey, id: string | null, options: { exhaustedOk?: boolean } = {}): Promise<{ share: ShareRow; node: FileRow }> {
    const { share, root } = await this.opened(token, key, options);
    if (id === null || id === root.id) return { share, node: root };
    const node = await this.filesRepo.findLive(share.ownerId, id);
    // The path of a node lists its ancestors: outside the shared folder means not found.
    if (!node || node.trashKey !== '' || !node.path.startsWith(root.path)) throw new AppError('NOT_FOUND', 'No such file in this share');
    return { share, node };
  }

  async children(token: string, key: ShareKey, folderId: string | null, page: Page): Promise<Connection> {
    const { share, node } = await this.nodeOf(token, key, folderId);
    if (!node.isFolder) return { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };
    return this.files.children(ownerOf(share), node.id, page);
  }

  /** What a download would send. An exhausted share still answers the clients holding a slot. */
  async content(token: string, key: ShareKey, fileId: string | null, client: DownloadClient): Promise<{ shareId: string; file: FileDto; blob: BlobLocation }> {
    const { share, node } = await this.nodeOf(token, key, fileId, { exhaustedOk: true });
    if (exhausted(share) && !(await this.slots.holds(share.id, node.id, client))) throw gone('share_exhausted');
    const { file, blob } = await this.files.content(ownerOf(share), node.id);
    return { shareId: share.id, file, blob: locationOf(blob) };
  }

  /**
   * Called before a download's first byte: continues the client's download when `resume`, else
   * takes a slot (NOT_FOUND share_exhausted when none is left). The ticket gives it back.
   */
  async takeDownloadSlot(token: string, key: ShareKey, fileId: string | null, client: DownloadClient, resume: boolean): Promise<{ ticket: string | null }> {
    const { share, node } = await this.nodeOf(token, key, fileId, { exhaustedOk: true });
    const slot = await this.slots.take(share.id, node.id, client, resume, visitorEvent(share, 'SHARE_DOWNLOADED', node));
    if (slot.kind === 'exhausted') throw gone('share_exhausted');
    return { ticket: slot.kind === 'taken' ? slot.ticket : null };
  }

  /** Gives back the slot of a download that failed before its first byte. */
  async releaseDownloadSlot(ticket: string): Promise<boolean> {
    await this.slots.release(ticket);
    return true;
  }

  /** Puts the shared item into the viewer's drive by reference to the same blobs: no bytes copied. */
  async save(viewer: Viewer, token: string, key: ShareKey, targetFolderId: string | null): Promise<FileDto> {
    const { share, root } = await this.opened(token, key);
    // The target is checked before a slot is taken (the copy checks it again).
    await this.files.folder(viewer, targetFolderId);
    // A saved copy is a whole download: its slot is taken atomically before the copy, and given
    // back when the copy fails (quota, name), so the counter equals the copies made.
    if (!(await this.slots.takeOnce(share.id))) throw gone('share_exhausted');
    try {
      return await this.files.copyInto(viewer, targetFolderId, { ownerId: share.ownerId, rootId: root.id });
    } catch (error) {
      await this.slots.giveBack(share.id);
      throw error;
    }
  }

  private async live(token: string, exhaustedOk = false): Promise<ShareRow> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw gone('share_unknown');
    const share = await this.repo.findByToken(token);
    // Constant-time compare after the indexed lookup, so timing says nothing about near misses.
    if (!share || !timingSafeEqual(Buffer.from(share.token), Buffer.from(token))) throw gone('share_unknown');
    if (share.revokedAt) throw gone('share_revoked');
    if (share.expiresAt && share.expiresAt.getTime() <= this.now().getTime()) throw gone('share_expired');
    if (!exhaustedOk && exhausted(share)) throw gone('share_exhausted');
    return share;
  }

  private async checkKey(share: ShareRow, key: ShareKey): Promise<void> {
    if (!share.passwordHash) return;
    if (key.unlockToken) {
      const claims = await this.tokens.verify('share', key.unlockToken).catch(() => null);
      // Bound to the password it proved: a changed or removed password ends it (share-unlock.rules.ts).
      if (claims?.sub === share.id && claims.claims.pw === passwordBinding(share.passwordHash)) return;
    }
    if (!key.password) throw new AppError('UNAUTHENTICATED', 'This share needs a password', { details: { reason: 'share_password_required' } });
    const budgets = wrongPasswords(share.id, key.ip);
    await this.limiter.assertUnspent(...budgets);
    if (!(await verifyPassword(key.password, share.passwordHash))) {
      await Promise.all(budgets.map((budget) => this.limiter.record(budget.key, budget.windowMs)));
      throw new AppError('UNAUTHENTICATED', 'Wrong password', { details: { reason: 'share_password' } });
    }
  }

  private async settings(input: ShareSettings): Promise<Partial<Pick<ShareRow, 'passwordHash' | 'expiresAt' | 'maxDownloads'>>> {
    const out: Partial<Pick<ShareRow, 'passwordHash' | 'expiresAt' | 'maxDownloads'>> = {};
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
