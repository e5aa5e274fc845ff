/**
 * File-drop links: the owner creates, lists, edits and revokes them; a visitor (no account) reads
 * what the drop page may show, trades a password for a drop token, and the gateway resolves a
 * token into whose drive and which folder an upload goes to. Every link a visitor cannot use —
 * unknown, expired, revoked, its folder trashed or deleted — gives the one answer deadLink().
 * What the uploads service does with a link's sessions (limits, arrivals): upload-links.port.ts.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashPassword, verifyPassword } from '../../platform/auth/password-hash.ts';
import { AppError } from '../../platform/errors.ts';
import type { KeyValueStore } from '../../platform/kv/kv.ts';
import { RateLimiter, clientBucket, type Budget } from '../../platform/rate-limit.ts';
import type { Viewer } from '../../platform/request-context.ts';
import type { UploadLinkArrivalDto } from './upload-link-activity.channel.ts';
import { toArrivalDto, toUploadLinkDto, type DropPrincipalDto, type UploadLinkDto, type UploadLinkInfoDto } from './upload-links.dto.ts';
import type { UploadLinkRow } from './upload-links.entities.ts';
import type { UploadLinkChanges, UploadLinksRepository } from './upload-links.repository.ts';
import {
  MAX_ARRIVALS_LISTED, MAX_LIVE_LINKS, TOKEN_RE, UNLOCK_TTL_MS, UPLOAD_LINKS_LISTED, checkLimit, checkPassword, deadLink, left, linkState,
} from './upload-links.rules.ts';

export interface LinkSettings {
  password?: string | null;
  expiresAt?: string | null;
  maxFiles?: number | null;
  maxBytes?: number | null;
}

/** Whether the owner's folder is there and not in the trash, asked as the owner. */
export interface LinkFolders {
  alive(ownerId: string, folderId: string): Promise<boolean>;
}

export interface UploadLinkLimits {
  /** Uploads one client address may start through links a minute (POST /drop/{token}/tus/). */
  creationsPerClientMinute: number;
  /** Wrong passwords per client address, and per link, in 15 minutes before unlocks are refused. */
  unlockFailuresPerClient: number;
  unlockFailuresPerLink: number;
}

export const DEFAULT_LINK_LIMITS: UploadLinkLimits = { creationsPerClientMinute: 60, unlockFailuresPerClient: 10, unlockFailuresPerLink: 50 };

const UNLOCK_WINDOW_MS = 15 * 60_000;
const unlockKey = (token: string) => `drop:unlock:${createHash('sha256').update(token).digest('hex')}`;
/** Binds a drop token to the password it proved: a changed or removed password ends it. */
const binding = (passwordHash: string | null) => (passwordHash ? createHash('sha256').update(passwordHash).digest('base64url').slice(0, 16) : '');

export class UploadLinksService {
  private readonly limiter: RateLimiter;

  constructor(
    private readonly repo: UploadLinksRepository,
    private readonly folders: LinkFolders,
    private readonly kv: KeyValueStore,
    private readonly limits: UploadLinkLimits = DEFAULT_LINK_LIMITS,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.limiter = new RateLimiter(kv);
  }

  async create(viewer: Viewer, folderId: string, settings: LinkSettings): Promise<UploadLinkDto> {
    if (!(await this.folders.alive(viewer.userId, folderId))) throw new AppError('NOT_FOUND', 'No such folder');
    const changes = await this.settings(settings);
    const now = this.now();
    if ((await this.repo.countLive(viewer.userId, now)) >= MAX_LIVE_LINKS) {
      throw new AppError('RATE_LIMITED', `At most ${MAX_LIVE_LINKS} live upload links; revoke some`, { details: { reason: 'too_many_upload_links' } });
    }
    const token = randomBytes(32).toString('base64url');
    const row = await this.repo.insert(
      { ownerId: viewer.userId, folderId, token, passwordHash: null, expiresAt: null, maxFiles: null, maxBytes: null, ...changes },
      now,
    );
    return toUploadLinkDto(row, now);
  }

  async list(viewer: Viewer): Promise<UploadLinkDto[]> {
    const now = this.now();
    return (await this.repo.listOwned(viewer.userId, UPLOAD_LINKS_LISTED)).map((row) => toUploadLinkDto(row, now));
  }

  async get(viewer: Viewer, id: string): Promise<UploadLinkDto> {
    return toUploadLinkDto(await this.owned(viewer, id), this.now());
  }

  async update(viewer: Viewer, id: string, settings: LinkSettings): Promise<UploadLinkDto> {
    const row = await this.owned(viewer, id);
    const changes = await this.settings(settings);
    await this.repo.update(row.id, changes, this.now());
    return toUploadLinkDto(Object.assign(row, changes), this.now());
  }

  /** Refused from now on: the gateway resolves the token on every request, so a PATCH in flight's next request is refused. */
  async revoke(viewer: Viewer, id: string): Promise<boolean> {
    const row = await this.owned(viewer, id);
    if (!row.revokedAt) await this.repo.update(row.id, { revokedAt: this.now() }, this.now());
    return true;
  }

  async arrivals(viewer: Viewer, id: string, first: number): Promise<UploadLinkArrivalDto[]> {
    const row = await this.owned(viewer, id);
    return (await this.repo.arrivals(row.id, Math.min(Math.max(first, 0), MAX_ARRIVALS_LISTED))).map(toArrivalDto);
  }

  /** The drop page's view. The limits of a password link are told only with a drop token. */
  async info(token: string, unlockToken: string | null): Promise<UploadLinkInfoDto> {
    const link = await this.live(token);
    const unlocked = link.passwordHash === null || (unlockToken !== null && (await this.unlocked(link, unlockToken)));
    const room = left(link);
    return {
      hasPassword: link.passwordHash !== null,
      expiresAt: link.expiresAt?.toISOString() ?? null,
      filesLeft: unlocked ? room.filesLeft : null,
      bytesLeft: unlocked ? room.bytesLeft : null,
    };
  }

  /**
   * A drop token for a password link. Wrong passwords are counted per client address and per link
   * (refused while spent, before scrypt runs); unknown, expired and revoked links count against
   * the address too and give deadLink(), so a guesser learns nothing faster than by guessing.
   */
  async unlock(token: string, password: string, ip: string | undefined): Promise<{ token: string; expiresAt: string }> {
    const byClient = this.unlockBudget(`drop:unlock-fail:ip:${clientBucket(ip)}`, this.limits.unlockFailuresPerClient);
    await this.limiter.assertUnspent(byClient);
    const link = await this.live(token).catch(async (error: unknown) => {
      await this.limiter.record(byClient.key, byClient.windowMs);
      throw error;
    });
    const byLink = this.unlockBudget(`drop:unlock-fail:link:${link.id}`, this.limits.unlockFailuresPerLink);
    await this.limiter.assertUnspent(byLink);
    if (!link.passwordHash || !(await verifyPassword(password, link.passwordHash))) {
      await Promise.all([byClient, byLink].map((budget) => this.limiter.record(budget.key, budget.windowMs)));
      throw new AppError('UNAUTHENTICATED', 'Wrong password for this upload link', { details: { reason: 'upload_link_password' } });
    }
    const drop = randomBytes(32).toString('base64url');
    await this.kv.set(unlockKey(drop), JSON.stringify({ linkId: link.id, pw: binding(link.passwordHash) }), { ttlMs: UNLOCK_TTL_MS });
    return { token: drop, expiresAt: new Date(this.now().getTime() + UNLOCK_TTL_MS).toISOString() };
  }

  /**
   * Who an upload through the link is for (the gateway's /drop/{token}/tus/ principal): checked on
   * every request, so a revoked or expired link, or a trashed folder, stops an upload at its next
   * PATCH. `creating` (a POST) counts against the client address's budget of new uploads.
   */
  async resolve(token: string, unlockToken: string | null, ip: string | undefined, creating: boolean): Promise<DropPrincipalDto> {
    const link = await this.live(token);
    // Every try to start an upload counts, allowed or not (a password guesser's too).
    if (creating) {
      await this.limiter.take({
        key: `drop:create:${clientBucket(ip)}`, limit: this.limits.creationsPerClientMinute, windowMs: 60_000,
        reason: 'upload_link_creations', message: 'Too many uploads started from this address; wait a minute',
      });
    }
    if (link.passwordHash !== null && !(unlockToken !== null && (await this.unlocked(link, unlockToken)))) {
      throw new AppError('UNAUTHENTICATED', 'This upload link needs a password: unlock it first', { details: { reason: 'upload_link_password_required' } });
    }
    return { linkId: link.id, ownerId: link.ownerId, folderId: link.folderId };
  }

  /** A link a visitor may use: its token well-formed and known, live, its folder there. */
  private async live(token: string): Promise<UploadLinkRow> {
    if (!TOKEN_RE.test(token)) throw deadLink();
    const link = await this.repo.findByToken(token);
    // Constant-time compare after the indexed lookup, so timing says nothing about near misses.
    if (!link || !timingSafeEqual(Buffer.from(link.token), Buffer.from(token)) || linkState(link, this.now()) !== 'live') throw deadLink();
    if (!(await this.folders.alive(link.ownerId, link.folderId))) throw deadLink();
    return link;
  }

  private async unlocked(link: UploadLinkRow, unlockToken: string): Promise<boolean> {
    if (!TOKEN_RE.test(unlockToken)) return false;
    const stored = await this.kv.get(unlockKey(unlockToken));
    if (!stored) return false;
    const claims = JSON.parse(stored) as { linkId?: string; pw?: string };
    return claims.linkId === link.id && claims.pw === binding(link.passwordHash);
  }

  private unlockBudget(key: string, limit: number): Budget {
    return { key, limit, windowMs: UNLOCK_WINDOW_MS, reason: 'upload_link_unlock_attempts', message: 'Too many wrong passwords; try again later' };
  }

  private async owned(viewer: Viewer, id: string): Promise<UploadLinkRow> {
    const row = await this.repo.findOwned(viewer.userId, id);
    if (!row) throw new AppError('NOT_FOUND', 'No such upload link');
    return row;
  }

  private async settings(input: LinkSettings): Promise<UploadLinkChanges> {
    const out: UploadLinkChanges = {};
    if (input.password !== undefined) {
      checkPassword(input.password);
      out.passwordHash = input.password ? await hashPassword(input.password) : null;
    }
    if (input.expiresAt !== undefined) {
      const at = input.expiresAt === null ? null : new Date(input.expiresAt);
      if (at && (Number.isNaN(at.getTime()) || at.getTime() <= this.now().getTime())) {
        throw new AppError('BAD_INPUT', 'expiresAt must be in the future', { details: { field: 'expiresAt', reason: 'expiry_in_past' } });
      }
      out.expiresAt = at;
    }
    if (input.maxFiles !== undefined) {
      checkLimit('maxFiles', input.maxFiles);
      out.maxFiles = input.maxFiles;
    }
    if (input.maxBytes !== undefined) {
      checkLimit('maxBytes', input.maxBytes);
      out.maxBytes = input.maxBytes;
    }
    return out;
  }
}
