/**
 * The web app's refresh token lives in a cookie JavaScript cannot read, so an injected script
 * cannot steal the long-lived credential (only the 15-minute access token, which the app keeps):
 *
 * - `stratus_refresh`: HttpOnly; SameSite=Strict (RFC 6265bis §5.4.7: never sent on cross-site
 *   requests); Path=/auth (sent to these two endpoints only, not to /graphql or downloads);
 *   Secure when the request came over HTTPS; lives as long as the refresh token (30 days).
 * - CSRF: both endpoints require the header `x-stratus-csrf: 1`. A cross-site form or image cannot
 *   set a header, and a cross-site fetch that does is preflighted (Fetch standard, CORS) and Stratus
 *   answers no preflight, so it never gets here — a second line behind SameSite=Strict.
 *
 * POST /auth/refresh: rotates the cookie's refresh token (or, right after sign-in, the one in the
 * JSON body `{ "refreshToken": … }`, moving it into the cookie) and answers `{ accessToken, user }`
 * — never the refresh token. POST /auth/logout: ends the cookie's login and clears the cookie.
 * Other clients (the CLI) keep using the GraphQL `refreshToken` and `logout` mutations.
 */
import express, { type Request, type Response, type Router } from 'express';
import { REFRESH_TOKEN_TTL_MS } from '../../internal/accounts/index.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { Clients } from '../clients.ts';

export const REFRESH_COOKIE = 'stratus_refresh';
export const CSRF_HEADER = 'x-stratus-csrf';

function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function setCookie(req: Request, res: Response, value: string, maxAge: number): void {
  res.cookie(REFRESH_COOKIE, value, { httpOnly: true, sameSite: 'strict', path: '/auth', secure: req.secure, maxAge, encode: String });
}

function requireCsrfHeader(req: Request): void {
  if (req.get(CSRF_HEADER) !== '1') {
    throw new AppError('FORBIDDEN', `Send the header ${CSRF_HEADER}: 1`, { details: { reason: 'csrf_header_missing' } });
  }
}

export function refreshCookieRouter(clients: Clients): Router {
  const router = express.Router();
  const json = express.json({ limit: '4kb' });

  router.post('/auth/refresh', json, async (req, res, next) => {
    try {
      requireCsrfHeader(req);
      const fromBody = (req.body as { refreshToken?: unknown } | undefined)?.refreshToken;
      const refreshToken = typeof fromBody === 'string' && fromBody ? fromBody : cookieOf(req, REFRESH_COOKIE);
      if (!refreshToken) throw new AppError('UNAUTHENTICATED', 'Not signed in', { details: { reason: 'refresh_invalid' } });
      try {
        const pair = await clients.accounts.refreshToken.mutate({ refreshToken });
        setCookie(req, res, pair.refreshToken, REFRESH_TOKEN_TTL_MS);
        res.setHeader('Cache-Control', 'no-store');
        res.json({ accessToken: pair.accessToken, user: pair.user });
      } catch (error) {
        setCookie(req, res, '', 0);
        throw error;
      }
    } catch (error) {
      next(error);
    }
  });

  router.post('/auth/logout', async (req, res, next) => {
    try {
      requireCsrfHeader(req);
      const refreshToken = cookieOf(req, REFRESH_COOKIE);
      if (refreshToken) await clients.accounts.logout.mutate({ refreshToken });
      setCookie(req, res, '', 0);
      res.json({ ok: true });
    } catch (error) {
      next(error);
    }
  });

  return router;
}
