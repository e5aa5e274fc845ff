/**
 * Access tokens: short-lived JWTs signed with HS256 (jose). Verification pins the algorithm, the
 * issuer and the token type, so `alg: none`, a token signed with another key or of another kind
 * (a share-unlock token, say) is refused as UNAUTHENTICATED. Every token must carry `exp`
 * (RFC 7519 §4.1.4 makes it optional; a token without one would never end). An access token also
 * carries `sid`, its login, and is refused once that login has ended (session-revocations.ts).
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { AccessScope, Viewer } from '../request-context.ts';
import { MAX_ACCESS_TTL_S, type SessionRevocations } from './session-revocations.ts';

const ISSUER = 'stratus';
const ALG = 'HS256';

export type TokenType = 'access' | 'share';

interface Verified {
  sub: string;
  claims: Record<string, unknown>;
}

/**
 * Tokens whose signature and claims already verified, by type and token text: each request of a
 * signed-in client presents the same JWT again, and jose's HMAC check (WebCrypto, async) with the
 * JSON parsing around it was ~9 % of the server's CPU on a listing (issue 21 profile). A hit
 * skips only what cannot change for the same text (signature, issuer, type, subject, claims):
 * expiry is checked against the clock on every use, exactly as jose does (`exp <= now` in whole
 * seconds is expired), and an access token's login is still looked up in the KV store on every
 * verification, so a logout refuses it at once. Bounded: the oldest entries go first.
 */
const VERIFIED_MAX = 10_000;

export class TokenSigner {
  constructor(
    private readonly secret: Uint8Array,
    private readonly now: () => number = Date.now,
    /** Ended logins; without it (unit tests) no login is ever ended. */
    readonly sessions?: SessionRevocations,
  ) {}

  private readonly verified = new Map<string, Verified>();

  async sign(type: TokenType, subject: string, claims: Record<string, unknown>, ttlSeconds: number): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ ...claims, typ: type })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setIssuer(ISSUER)
      .setSubject(subject)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSeconds)
      .sign(this.secret);
  }

  async verify(type: TokenType, token: string): Promise<Verified> {
    const key = `${type} ${token}`;
    const known = this.verified.get(key);
    if (known) {
      if (Number(known.claims.exp) > Math.floor(this.now() / 1000)) return known;
      this.verified.delete(key);
      throw new AppError('UNAUTHENTICATED', 'Token expired', { details: { reason: 'expired' } });
    }
    const verified = await this.verifyUncached(type, token);
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, verified);
    return verified;
  }

  private async verifyUncached(type: TokenType, token: string): Promise<Verified> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALG],
        issuer: ISSUER,
        requiredClaims: ['exp'],
        currentDate: new Date(this.now()),
      });
      if (payload.typ !== type || typeof payload.sub !== 'string') throw new Error(`not a ${type} token`);
      return { sub: payload.sub, claims: payload as Record<string, unknown> };
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      throw new AppError('UNAUTHENTICATED', expired ? 'Token expired' : 'Invalid token', {
        cause: error,
        details: { reason: expired ? 'expired' : 'invalid' },
      });
    }
  }

  /**
   * An access token of the viewer's login (`sessionId`; a new one-off login when absent). A viewer
   * who signed in with a personal access token keeps its id and scopes in the token (`pat`, `scp`),
   * so a service in another process knows them as the gateway does.
   */
  async signAccess(viewer: Viewer, ttlSeconds: number): Promise<string> {
    const sid = viewer.sessionId ?? randomUUID();
    const pat = viewer.accessTokenId ? { pat: viewer.accessTokenId, scp: [...(viewer.scopes ?? [])] } : {};
    return this.sign('access', viewer.userId, { usr: viewer.username, adm: viewer.isAdmin, sid, ...pat }, Math.min(ttlSeconds, MAX_ACCESS_TTL_S));
  }

  async verifyAccess(token: string): Promise<Viewer> {
    return (await this.verifyAccessToken(token)).viewer;
  }

  /** The viewer and when the token expires (ms since the epoch); refused once its login ended. */
  async verifyAccessToken(token: string): Promise<{ viewer: Viewer; expiresAt: number }> {
    const { sub, claims } = await this.verify('access', token);
    const sid = claims.sid;
    if (typeof sid !== 'string' || sid === '') {
      throw new AppError('UNAUTHENTICATED', 'Invalid token', { details: { reason: 'invalid' } });
    }
    if (this.sessions && (await this.sessions.isEnded(sid))) {
      throw new AppError('UNAUTHENTICATED', 'This login has ended; sign in again', { details: { reason: 'session_ended' } });
    }
    const viewer: Viewer = { userId: sub, username: String(claims.usr ?? ''), isAdmin: claims.adm === true, sessionId: sid, ...patClaims(claims) };
    return { viewer, expiresAt: Number(claims.exp) * 1000 };
  }
}

/** The personal access token a token was minted for (`pat`) and its scopes (`scp`; none when malformed). */
function patClaims(claims: Record<string, unknown>): Pick<Viewer, 'accessTokenId' | 'scopes'> {
  if (typeof claims.pat !== 'string') return {};
  const scp = Array.isArray(claims.scp) ? claims.scp : [];
  const scopes = (['READ', 'WRITE'] as const).filter((s: AccessScope) => scp.includes(s));
  return { accessTokenId: claims.pat, scopes };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  return match?.[1];
}
