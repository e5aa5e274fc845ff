/**
 * Pure rules of file-drop links: the token's form and hash, when a link is alive, what a visitor
 * may still send, the settings' bounds, and the name a file takes when its name is taken
 * (`name (1).ext`, `name (2).ext` …, the renaming the issue asks for).
 */
import { AppError } from '../../platform/errors.ts';
import type { UploadLinkRow } from './upload-links.entities.ts';

/** 256 random bits in base64url (43 characters, unpadded). */
export const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
/** Live (not revoked, not expired) links one person may hold. */
export const MAX_LIVE_LINKS = 100;
/** `uploadLinks` lists at most this many (newest first). */
export const UPLOAD_LINKS_LISTED = 200;
/** `UploadLink.arrivals(first)` returns at most this many. */
export const MAX_ARRIVALS_LISTED = 100;
/** How long an unlock (drop) token of a password link works. */
export const UNLOCK_TTL_MS = 3_600_000;
/** Names tried when renaming on a clash before giving up (`name (1)` … `name (200)`). */
export const MAX_RENAMES = 200;

export type LinkState = 'live' | 'revoked' | 'expired';

export function linkState(link: Pick<UploadLinkRow, 'revokedAt' | 'expiresAt'>, now: Date): LinkState {
  if (link.revokedAt) return 'revoked';
  if (link.expiresAt && link.expiresAt.getTime() <= now.getTime()) return 'expired';
  return 'live';
}

/** What may still arrive: null for a limit the link does not have. Reserved uploads count as sent. */
export function left(link: Pick<UploadLinkRow, 'maxFiles' | 'maxBytes' | 'filesReceived' | 'filesReserved' | 'bytesReceived' | 'bytesReserved'>) {
  return {
    filesLeft: link.maxFiles === null ? null : Math.max(0, link.maxFiles - link.filesReceived - link.filesReserved),
    bytesLeft: link.maxBytes === null ? null : Math.max(0, Number(link.maxBytes) - Number(link.bytesReceived) - Number(link.bytesReserved)),
  };
}

/** Not revoked, not expired, and room for at least one more file. */
export function accepting(link: UploadLinkRow, now: Date): boolean {
  const room = left(link);
  return linkState(link, now) === 'live' && room.filesLeft !== 0 && room.bytesLeft !== 0;
}

/**
 * The one answer for every link a visitor cannot use — unknown, expired, revoked, its folder gone,
 * a wrong password — so the answer tells nothing about which tokens exist ("The link reveals
 * nothing … the same answer for unknown, expired and revoked tokens").
 */
export function deadLink(): AppError {
  return new AppError('NOT_FOUND', 'No such upload link (it may have expired or been revoked)', { details: { reason: 'upload_link_not_found' } });
}

/** Why a reservation was refused, from the link as it is now (413 for tus: the file does not fit). */
export function limitRefusal(link: UploadLinkRow, bytes: number): AppError {
  const room = left(link);
  if (room.filesLeft === 0) {
    return new AppError('PAYLOAD_TOO_LARGE', `This link accepts at most ${link.maxFiles ?? 0} files`, { details: { reason: 'upload_link_files_limit' } });
  }
  return new AppError('PAYLOAD_TOO_LARGE', 'This file is larger than what the link still accepts', {
    details: { reason: 'upload_link_bytes_limit', needed: bytes, ...(room.bytesLeft === null ? {} : { left: room.bytesLeft }) },
  });
}

export function checkLimit(field: 'maxFiles' | 'maxBytes', value: number | null | undefined): void {
  if (value === null || value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new AppError('BAD_INPUT', `${field} must be at least 1`, { details: { field, reason: 'upload_link_limit_invalid' } });
  }
}

export function checkPassword(password: string | null | undefined): void {
  if (password === null || password === undefined) return;
  if (password.length < 4 || password.length > 128) {
    throw new AppError('BAD_INPUT', 'An upload link password has 4 to 128 characters', { details: { field: 'password', reason: 'upload_link_password_length' } });
  }
}

/**
 * The n-th name tried for `name` when it is taken: `report.pdf` → `report (1).pdf`; a name whose
 * only dot leads (`.env`) or with none has no extension: `.env (1)`. The result stays within 255
 * characters by shortening the stem.
 */
export function renamed(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const suffix = ` (${n})`;
  const room = 255 - suffix.length - ext.length;
  return `${[...stem].slice(0, Math.max(1, room)).join('')}${suffix}${ext}`;
}
