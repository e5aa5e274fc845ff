/**
 * Personal access tokens: a credential per device or script that the person names, scopes (READ,
 * or WRITE which includes READ), sees the last use of and revokes. No transport types here.
 *
 * - The secret is `stp_` + 256 random bits (base64url), shown once; only its SHA-256 is stored. A
 *   presented token is found by its hash (a random secret needs no slow hash: nobody can search
 *   2^256), so the secret is never compared byte by byte; the stored and computed digests are
 *   compared in constant time all the same.
 * - A token that verifies becomes a short access JWT (`TokenSigner.signAccess`) naming the token
 *   (`pat`, `scp`) and the login `pat:<id>`: every service, in this process or another, checks it
 *   as it checks a session's, so a revoke ends it everywhere at once the same way a logout ends a
 *   login (session-revocations.ts: KV mark + pub/sub, graphql-ws sockets closed with 4403).
 * - Nothing is cached: each request reads the token row from the primary (a revoke deletes it), and
 *   writes `lastUsedAt` only when the stored one is a minute old.
 * - As the password of HTTP Basic (WebDAV), with the owner's username or e-mail as the user, a
 *   failure counts against the sign-in limits of that account and address (sign-in-guard.ts).
 * - Managing tokens (and the password) needs a session: a token cannot mint, list or revoke tokens.
 */
import { eventBy, securityEventBy } from '../activity/index.ts';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TokenSigner } from '../platform/auth/access-token.ts';
import { AppError, type ErrorReason } from '../platform/errors.ts';
import type { AccessScope, Viewer } from '../platform/request-context.ts';
import type { AccessTokenRow } from './access-tokens.entities.ts';
import type { AccessTokensRepository } from './access-tokens.repository.ts';
import type { UserRow } from './accounts.entities.ts';
import type { AccountsRepository } from './accounts.repository.ts';
import { accountKey, type SignInGuard } from './sign-in-guard.ts';

export const TOKEN_PREFIX = 'stp_';
const TOKEN_PATTERN = /^stp_[A-Za-z0-9_-]{43}$/;
export const ACCESS_TOKEN_NAME_MAX = 100;
/** Tokens a person may hold that have not expired. */
export const MAX_ACCESS_TOKENS = 50;
/** `accessTokens` lists at most this many, newest first: expired tokens stay listed (so one can
 * see what stopped working) but do not count against MAX_ACCESS_TOKENS, so the list needs a bound. */
export const ACCESS_TOKENS_LISTED = 200;
/** The farthest expiry one may set; no expiry at all is said with null. */
export const MAX_TOKEN_LIFETIME_MS = 366 * 24 * 3_600_000;
/** `lastUsedAt` is written at most this often per token. */
export const LAST_USED_RESOLUTION_MS = 60_000;
/** The access JWT a token is exchanged for lives this long (at most the token's own expiry). */
const MINTED_TTL_S = 15 * 60;

export interface AccessTokenDto {
  id: string;
  name: string;
  scopes: AccessScope[];
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
}

export interface NewAccessToken {
  /** The secret, shown this once. */
  token: string;
  accessToken: AccessTokenDto;
}

export interface CreateAccessTokenInput {
  name: string;
  scopes: readonly AccessScope[];
  expiresAt?: Date | null | undefined;
}

/** A verified token: who, with which scopes, and the access JWT to act as them (until `expiresAt`, ms). */
export interface TokenSignIn {
  viewer: Viewer;
  accessToken: string;
  expiresAt: number;
}

const sha256 = (value: string) => createHash('sha256').update(value).digest();
const scopesOf = (row: AccessTokenRow): AccessScope[] => (row.scopes === 'READ,WRITE' ? ['READ', 'WRITE'] : ['READ']);
const refused = (reason: ErrorReason) =>
  new AppError('UNAUTHENTICATED', reason === 'expired' ? 'This access token has expired' : 'Invalid access token', { details: { reason } });

export function accessTokenDto(row: AccessTokenRow): AccessTokenDto {
  return {
    id: row.id,
    name: row.name,
    scopes: scopesOf(row),
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    expiresAt: row.expiresAt?.toISOString() ?? null,
  };
}

/** Whether a credential looks like a personal access token (else it is taken for a session JWT). */
export function isPersonalAccessToken(credential: string): boolean {
  return credential.startsWith(TOKEN_PREFIX);
}

export class AccessTokensService {
  constructor(
    private readonly repo: AccessTokensRepository,
    private readonly users: AccountsRepository,
    private readonly guard: SignInGuard,
    private readonly tokens: TokenSigner,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async create(viewer: Viewer, input: CreateAccessTokenInput): Promise<NewAccessToken> {
    assertSession(viewer);
    const now = this.now();
    const name = checkedName(input.name);
    const scopes = checkedScopes(input.scopes);
    const expiresAt = checkedExpiry(input.expiresAt ?? null, now);
    if ((await this.repo.countLive(viewer.userId, now)) >= MAX_ACCESS_TOKENS) {
      throw new AppError('RATE_LIMITED', `At most ${MAX_ACCESS_TOKENS} access tokens at once; revoke some`, { details: { reason: 'too_many_access_tokens' } });
    }
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const row = await this.repo.insert({ userId: viewer.userId, name, scopes: scopes.join(','), tokenHash: sha256(token).toString('hex'), expiresAt }, now, eventBy(viewer, 'TOKEN_CREATED'));
    return { token, accessToken: accessTokenDto(row) };
  }

  async list(viewer: Viewer): Promise<AccessTokenDto[]> {
    assertSession(viewer);
    return (await this.repo.listOf(viewer.userId, ACCESS_TOKENS_LISTED)).map(accessTokenDto);
  }

  /** Ends the token at once everywhere; another person's (or an unknown) id is NOT_FOUND. */
  async revoke(viewer: Viewer, id: string): Promise<boolean> {
    assertSession(viewer);
    if (!(await this.repo.delete(viewer.userId, id, securityEventBy(viewer, 'TOKEN_REVOKED', `access_token ${id}`)))) throw new AppError('NOT_FOUND', 'No such access token');
    await this.tokens.sessions?.end([patSession(id)]);
    return true;
  }

  /**
   * The person and scopes of a presented token. `login` (HTTP Basic's user name: the owner's
   * username or e-mail) makes it a sign-in attempt under the sign-in limits.
   */
  async authenticate(token: string, login: string | undefined, clientIp: string | undefined): Promise<TokenSignIn> {
    if (login === undefined) {
      const found = await this.lookup(token);
      if ('reason' in found) throw refused(found.reason);
      return this.signIn(found.row, found.user);
    }
    const owner = await this.users.findUserByLogin(login);
    const account = accountKey(owner?.id, login);
    await this.guard.beforeTokenCheck(account, clientIp);
    const found = await this.lookup(token);
    if ('reason' in found || !owner || found.user.id !== owner.id) {
      await this.guard.tokenFailed(account, clientIp);
      // A wrong Basic password (WebDAV) is a failed sign-in too, in the person's log and the audit log.
      await this.users.recordEvent({ ownerId: owner?.id ?? null, action: 'SIGN_IN_FAILED', actorName: owner?.username ?? login });
      throw new AppError('UNAUTHENTICATED', 'Wrong user name or access token', { details: { reason: 'bad_credentials' } });
    }
    await this.guard.succeeded(account, clientIp);
    return this.signIn(found.row, found.user);
  }

  private async lookup(token: string): Promise<{ row: AccessTokenRow; user: UserRow } | { reason: ErrorReason }> {
    if (!TOKEN_PATTERN.test(token)) return { reason: 'invalid' };
    const digest = sha256(token);
    const row = await this.repo.findByHash(digest.toString('hex'));
    if (!row || !timingSafeEqual(Buffer.from(row.tokenHash, 'hex'), digest)) return { reason: 'invalid' };
    if (row.expiresAt && row.expiresAt.getTime() <= this.now().getTime()) return { reason: 'expired' };
    // A token outlives nobody: a person removed is refused even while their rows linger.
    const user = await this.users.findUserById(row.userId);
    return user ? { row, user } : { reason: 'invalid' };
  }

  private async signIn(row: AccessTokenRow, user: UserRow): Promise<TokenSignIn> {
    const now = this.now();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.repo.touch(row.id, now, new Date(now.getTime() - LAST_USED_RESOLUTION_MS));
    }
    const viewer: Viewer = { userId: user.id, username: user.username, isAdmin: user.isAdmin, sessionId: patSession(row.id), accessTokenId: row.id, scopes: scopesOf(row) };
    const left = row.expiresAt ? Math.floor((row.expiresAt.getTime() - now.getTime()) / 1000) : MINTED_TTL_S;
    const ttl = Math.max(1, Math.min(MINTED_TTL_S, left));
    const accessToken = await this.tokens.signAccess(viewer, ttl);
    return { viewer, accessToken, expiresAt: now.getTime() + ttl * 1000 };
  }
}

/** The login a token's access JWTs name: ending it refuses them at once (session-revocations.ts). */
export const patSession = (tokenId: string) => `pat:${tokenId}`;

/** Tokens, and the password, are managed from a signed-in session only, never with a token. */
export function assertSession(viewer: Viewer): void {
  if (viewer.accessTokenId !== undefined) {
    throw new AppError('FORBIDDEN', 'Sign in with your password to manage access tokens or the password', { details: { reason: 'session_required' } });
  }
}

function checkedName(raw: string): string {
  const name = raw.trim();
  const bad = (reason: ErrorReason, message: string) => new AppError('BAD_INPUT', message, { details: { field: 'name', reason } });
  if (name === '') throw bad('name_empty', 'Give the token a name');
  if ([...name].length > ACCESS_TOKEN_NAME_MAX) throw bad('name_too_long', `A token name has at most ${ACCESS_TOKEN_NAME_MAX} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) throw bad('name_invalid_character', 'A token name cannot hold control characters');
  return name;
}

/** WRITE includes READ: a token that can change the drive can read it too. */
function checkedScopes(scopes: readonly AccessScope[]): AccessScope[] {
  if (scopes.length === 0) throw new AppError('BAD_INPUT', 'Give the token at least one scope', { details: { field: 'scopes', reason: 'scopes_empty' } });
  return scopes.includes('WRITE') ? ['READ', 'WRITE'] : ['READ'];
}

function checkedExpiry(expiresAt: Date | null, now: Date): Date | null {
  if (expiresAt === null) return null;
  const bad = (reason: ErrorReason, message: string) => new AppError('BAD_INPUT', message, { details: { field: 'expiresAt', reason } });
  if (Number.isNaN(expiresAt.getTime())) throw bad('invalid', 'Not a date');
  if (expiresAt.getTime() <= now.getTime()) throw bad('expiry_in_past', 'The expiry must be in the future');
  if (expiresAt.getTime() - now.getTime() > MAX_TOKEN_LIFETIME_MS) throw bad('expiry_too_far', 'A token expires within a year at most (leave the expiry out for none)');
  return expiresAt;
}
