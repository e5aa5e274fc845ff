/**
 * WebDAV at /dav/ (RFC 4918, class 1 and 2; RFC 4331 quota), the person's drive as the root.
 * One method → handler table; each handler is a file of its own. Every request but OPTIONS is
 * authenticated (api/http/auth.ts: Bearer, or Basic with a personal access token as the
 * password); a refusal is 401 with `WWW-Authenticate: Basic realm="Stratus"`. The methods that
 * change the drive need the WRITE scope (a READ token gets 403 token_scope).
 */
import express, { type Request, type Response, type Router } from 'express';
import { authenticateRequest, requireScope } from '../http/auth.ts';
import { createDavContext, type DavContext, type DavDeps, type DavHooks } from './dav-context.ts';
import { sendDavError } from './dav-errors.ts';
import { parseDavPath } from './dav-path.ts';
import { copyHandler, moveHandler } from './copy-move.handler.ts';
import { deleteHandler } from './delete.handler.ts';
import { getHandler } from './get.handler.ts';
import { mkcolHandler } from './mkcol.handler.ts';
import { optionsHandler } from './options.handler.ts';
import { propfindHandler } from './propfind.handler.ts';
import { putHandler } from './put.handler.ts';
import { proppatchHandler } from './proppatch.handler.ts';
import { lockHandler, unlockHandler } from './lock.handler.ts';
import { DAV_WRITE_HOOKS } from './dav-write-hooks.ts';

export type DavHandler = (ctx: DavContext) => Promise<void>;

/** The methods of /dav/ (handlers of other files register here with one line each). */
export const DAV_METHODS: Readonly<Record<string, DavHandler>> = {
  OPTIONS: optionsHandler,
  PROPFIND: propfindHandler,
  GET: getHandler,
  HEAD: getHandler,
  MKCOL: mkcolHandler,
  DELETE: deleteHandler,
  COPY: copyHandler,
  MOVE: moveHandler,
  PUT: putHandler,
  PROPPATCH: proppatchHandler,
  LOCK: lockHandler,
  UNLOCK: unlockHandler,
};

/** Methods that change the drive (or its locks and properties): the WRITE scope is needed. */
const WRITES = new Set(['PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPPATCH', 'LOCK', 'UNLOCK']);

/** Locks and dead properties (filled in by their handlers' files). */
export const DAV_HOOKS: DavHooks = DAV_WRITE_HOOKS;

/** The router for `app.use('/dav', davRouter(deps))`: it answers every request below /dav. */
export function davRouter(deps: DavDeps, hooks: DavHooks = DAV_HOOKS): Router {
  const router = express.Router();
  router.use((req, res) => void dispatch(req, res, deps, hooks));
  return router;
}

async function dispatch(req: Request, res: Response, deps: DavDeps, hooks: DavHooks): Promise<void> {
  try {
    const handler = DAV_METHODS[req.method];
    if (!handler) return methodNotAllowed(res);
    const path = parseDavPath(req.originalUrl);
    // OPTIONS says what the server can do and nothing about the drive: clients (Windows' WebDAV
    // redirector, Office) ask it before they present credentials.
    const auth = req.method === 'OPTIONS' ? anonymous : await authenticateRequest(deps, req, { basic: true });
    if (WRITES.has(req.method)) requireScope(auth, 'WRITE');
    await handler(createDavContext(req, res, deps, auth, path, hooks));
  } catch (error) {
    sendDavError(res, error, deps.log);
  }
}

/** RFC 9110 §15.5.6: "The origin server MUST generate an Allow header field in a 405 response". */
function methodNotAllowed(res: Response): void {
  res.status(405).setHeader('Allow', allowHeader());
  res.end();
}

export function allowHeader(): string {
  return Object.keys(DAV_METHODS).join(', ');
}

const anonymous = { viewer: { userId: '', username: '', isAdmin: false }, scopes: [], via: 'session', accessToken: '', expiresAt: 0 } as const;
