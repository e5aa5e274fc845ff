/**
 * File drop: tus 1.0.0 at `/drop/{token}/tus/` for anyone holding an upload link (issue 20: "Anyone
 * with the link uploads through tus at /drop/{token}/tus/"). The same tus handler as /tus/
 * (http/tus/tus.handler.ts); only the principal differs — the link's owner, forced into the
 * link's folder, the session tied to the link (so an upload URL of another link, or of the owner's
 * own /tus/ uploads, answers 404).
 *
 * The link is resolved on EVERY request (upload-links.service.ts resolve), so a revoked or expired
 * link, or one whose folder went to the trash, stops an upload at its next PATCH, and unknown,
 * expired and revoked tokens all answer the same 404 `upload_link_not_found`. A password link
 * needs the drop token of unlockUploadLink, as `Authorization: Bearer <token>` or, for clients
 * that keep Authorization for something else, `X-Drop-Unlock: <token>`. Creating an upload (POST)
 * counts against the client address's budget (429 with Retry-After past it).
 *
 * Nothing else is served under the link: no listing, no download (tus has no GET; the handler
 * answers 405 to anything that is not a tus method).
 */
import type { Request, Router } from 'express';
import type { TokenSigner } from '../../../internal/platform/auth/access-token.ts';
import { bearerToken } from '../../../internal/platform/auth/access-token.ts';
import { currentContext, type Viewer } from '../../../internal/platform/request-context.ts';
import { tusRouter, type TusDeps } from '../tus/tus.handler.ts';
import type { ResolveTusPrincipal } from '../tus/tus.principal.ts';

/** The owner's service calls carry an access token of theirs this long (a PATCH may stream for a while). */
const OWNER_TOKEN_TTL_S = 900;

/** `/drop/<token>/tus` → `<token>` (the router is mounted there, so the base URL holds it). */
function linkTokenOf(req: Request): string {
  const match = /^\/drop\/([^/]+)\/tus$/.exec(req.baseUrl);
  return match?.[1] ? decodeURIComponent(match[1]) : '';
}

export function dropPrincipal(deps: Pick<TusDeps, 'clients'> & { tokens: TokenSigner }): ResolveTusPrincipal {
  return async (req) => {
    const method = (req.get('x-http-method-override') ?? req.method).toUpperCase();
    const unlockToken = bearerToken(req.headers.authorization) ?? req.get('x-drop-unlock') ?? null;
    const link = await deps.clients.uploads.links.resolve.mutate({ token: linkTokenOf(req), unlockToken, creating: method === 'POST' });
    const viewer: Viewer = { userId: link.ownerId, username: '', isAdmin: false };
    // As authenticateRequest does for /tus/: the calls that follow run as the owner, also in
    // another process (they forward this access token; a visitor has none of their own).
    const rc = currentContext();
    if (rc) Object.assign(rc, { viewer, accessToken: await deps.tokens.signAccess(viewer, OWNER_TOKEN_TTL_S) });
    return { viewer, folderId: link.folderId, uploadLinkId: link.linkId };
  };
}

export function dropTusRouter(deps: TusDeps & { tokens: TokenSigner }): Router {
  return tusRouter(deps, { resolve: dropPrincipal(deps) });
}
