/**
 * Access tokens: short-lived JWTs signed with HS256 (jose). Verification pins the algorithm, the
 * issuer and the token type, so `alg: none`, a token signed with another key or of another kind
 * (a share-unlock token, say) is refused as UNAUTHENTICATED.
 */
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { AppError } from '../errors.ts';
import type { Viewer } from '../request-context.ts';

const ISSUER = 'stratus';
const ALG = 'HS256';

export type TokenType = 'access' | 'share';

export class TokenSigner {
  constructor(
    private readonly secret: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {}

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

  async verify(type: TokenType, token: string): Promise<{ sub: string; claims: Record<string, unknown> }> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: [ALG],
        issuer: ISSUER,
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

  async signAccess(viewer: Viewer, ttlSeconds: number): Promise<string> {
    return this.sign('access', viewer.userId, { usr: viewer.username, adm: viewer.isAdmin }, ttlSeconds);
  }

  async verifyAccess(token: string): Promise<Viewer> {
    const { sub, claims } = await this.verify('access', token);
    return { userId: sub, username: String(claims.usr ?? ''), isAdmin: claims.adm === true };
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  return match?.[1];
}
