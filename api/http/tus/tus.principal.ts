/**
 * Who a tus request acts for: the seam between the tus handler (tus.handler.ts) and its mounts.
 * `/tus/` resolves the signed-in person from `Authorization: Bearer` (an access token or a
 * personal access token); `/drop/{token}/tus/` (api/http/drop) resolves an upload link to its
 * owner. A resolver makes the viewer the request context's (as authenticateRequest does), so the
 * service calls that follow run as them.
 */
import type { Request } from 'express';
import type { Viewer } from '../../../internal/platform/request-context.ts';
import { authenticateRequest, type AuthDeps } from '../auth.ts';

export interface TusPrincipal {
  /** Whose drive the upload goes to: the signed-in person (/tus/) or the link's owner (/drop/). */
  viewer: Viewer;
  /** Forced folder (a drop link's folder); null → metadata `parentId`, default the root. */
  folderId: string | null;
  /** A drop upload's link id, stored on the session; null for /tus/. An upload URL answers 404
   *  unless the session's uploadLinkId equals this (so /tus/ cannot reach drop sessions and a link
   *  cannot reach another link's or the owner's sessions). */
  uploadLinkId: string | null;
}

/** Resolves the request's principal, or throws AppError (UNAUTHENTICATED, NOT_FOUND, RATE_LIMITED…). */
export type ResolveTusPrincipal = (req: Request) => Promise<TusPrincipal>;

/** /tus/: the person of the request's Bearer credential, uploading into their own drive. */
export function bearerPrincipal(deps: AuthDeps): ResolveTusPrincipal {
  return async (req) => {
    const auth = await authenticateRequest(deps, req, { basic: false });
    return { viewer: auth.viewer, folderId: null, uploadLinkId: null };
  };
}
