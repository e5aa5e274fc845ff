/**
 * The gateway's one request authenticator: every way in (GraphQL over HTTP and graphql-ws, the
 * byte endpoints, WebDAV) turns the caller's credential into a viewer here.
 *
 * Credentials:
 * - `Authorization: Bearer <session access token (JWT)>`: verified locally (signature, expiry, and
 *   whether its login ended: one KV read).
 * - `Authorization: Bearer stp_…`: a personal access token, checked by the accounts service
 *   (`accounts.accessTokens.authenticate`: a primary read, nothing cached, so a revoke is refused
 *   on the next request) and exchanged for a short access JWT naming the token, which is what the
 *   request forwards to other services.
 * - with `basic` (WebDAV only): `Authorization: Basic base64(user:token)`, RFC 7617. The password
 *   is a personal access token (never the account password: a WebDAV client stores it, often in
 *   the clear); the user is the token owner's username or e-mail, either works. A failure counts
 *   against the sign-in limits (RATE_LIMITED after them).
 *
 * A refused credential is UNAUTHENTICATED (WebDAV answers 401 with `WWW-Authenticate: Basic
 * realm="Stratus"`). What a token may do is in `scopes`: READ, or READ and WRITE; a session has both.
 */
import type { RequestHandler } from 'express';
import type { IncomingHttpHeaders } from 'node:http';
import { bearerToken, type TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { isPersonalAccessToken, type TokenSignIn } from '../../internal/accounts/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { normalizeError } from '../../internal/platform/rpc/client.ts';
import { currentContext, type AccessScope, type Viewer } from '../../internal/platform/request-context.ts';
import type { Clients } from '../clients.ts';

export interface AuthDeps {
  tokens: TokenSigner;
  clients: Pick<Clients, 'accounts'>;
}

export interface Authenticated {
  viewer: Viewer;
  scopes: readonly AccessScope[];
  via: 'session' | 'token';
  /** The access JWT this request acts with (forwarded on service calls). */
  accessToken: string;
  /** When that JWT expires (ms since the epoch). */
  expiresAt: number;
}

export type Credential = { kind: 'bearer'; token: string } | { kind: 'basic'; login: string; token: string };

const SESSION_SCOPES: readonly AccessScope[] = ['READ', 'WRITE'];

/**
 * Authenticates the request and makes the viewer the request context's (AsyncLocalStorage), so the
 * service calls that follow run as them. Throws AppError UNAUTHENTICATED (or RATE_LIMITED for Basic).
 */
export async function authenticateRequest(deps: AuthDeps, req: { headers: IncomingHttpHeaders }, opts: { basic: boolean }): Promise<Authenticated> {
  const credential = credentialOf(req.headers.authorization, opts.basic);
  if (!credential) {
    throw new AppError('UNAUTHENTICATED', opts.basic ? 'Send Authorization: Basic (user name and access token)' : 'Send Authorization: Bearer <access token>');
  }
  const auth = await verifyCredential(deps, credential);
  const rc = currentContext();
  if (rc) Object.assign(rc, { viewer: auth.viewer, accessToken: auth.accessToken });
  return auth;
}

/** FORBIDDEN `token_scope` unless the caller's token has the scope (a session has every scope). */
export function requireScope(auth: Pick<Authenticated, 'scopes'>, scope: AccessScope): void {
  if (!auth.scopes.includes(scope)) {
    throw new AppError('FORBIDDEN', `This access token lacks the ${scope} scope`, { details: { reason: 'token_scope' } });
  }
}

/** The scopes of a viewer: a token's own, a session's all. */
export function scopesOf(viewer: Viewer): readonly AccessScope[] {
  return viewer.scopes ?? SESSION_SCOPES;
}

/** The credential of an Authorization header; undefined when there is none or it is malformed. */
export function credentialOf(header: string | undefined, basic: boolean): Credential | undefined {
  if (!header) return undefined;
  const bearer = bearerToken(header);
  if (bearer) return { kind: 'bearer', token: bearer };
  return basic ? basicCredential(header) : undefined;
}

/** RFC 7617: `Basic base64(user-id ":" password)`; the user id holds no colon, the password may. */
function basicCredential(header: string): Credential | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/]+={0,2})\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const login = decoded.slice(0, colon).trim();
  const token = decoded.slice(colon + 1);
  return login && token ? { kind: 'basic', login, token } : undefined;
}

/** Verifies a credential (see the file comment); the caller decides what the viewer may do. */
export async function verifyCredential(deps: AuthDeps, credential: Credential): Promise<Authenticated> {
  if (credential.kind === 'bearer' && !isPersonalAccessToken(credential.token)) {
    // verifyAccessToken also refuses the token of an ended login (one KV read, nothing cached).
    const { viewer, expiresAt } = await deps.tokens.verifyAccessToken(credential.token);
    return { viewer, scopes: scopesOf(viewer), via: viewer.accessTokenId ? 'token' : 'session', accessToken: credential.token, expiresAt };
  }
  const input = credential.kind === 'basic' ? { token: credential.token, login: credential.login } : { token: credential.token };
  const signIn: TokenSignIn = await deps.clients.accounts.accessTokens.authenticate.mutate(input).catch((error: unknown) => {
    throw normalizeError(error);
  });
  return { viewer: signIn.viewer, scopes: scopesOf(signIn.viewer), via: 'token', accessToken: signIn.accessToken, expiresAt: signIn.expiresAt };
}

/**
 * The byte endpoints' guard: `Authorization: Bearer` (a session's access token or a personal
 * access token); with `scope`, a token must have it (chunk PUT: WRITE).
 */
export function requireBearer(deps: AuthDeps, scope?: AccessScope): RequestHandler {
  return async (req, _res, next) => {
    try {
      const auth = await authenticateRequest(deps, req, { basic: false });
      if (scope) requireScope(auth, scope);
      next();
    } catch (error) {
      next(error);
    }
  };
}
