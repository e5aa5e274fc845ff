/** Bearer authentication for the byte endpoints: the viewer joins the request context. */
import type { RequestHandler } from 'express';
import { bearerToken, type TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { currentContext } from '../../internal/platform/request-context.ts';

export function requireBearer(tokens: TokenSigner): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) return next(new AppError('UNAUTHENTICATED', 'Send Authorization: Bearer <access token>'));
    try {
      const viewer = await tokens.verifyAccess(token);
      const rc = currentContext();
      if (rc) Object.assign(rc, { viewer, accessToken: token });
      next();
    } catch (error) {
      next(error);
    }
  };
}
