/**
 * GET|HEAD /files/{id}/thumbnail?size=SMALL|MEDIUM|LARGE and /s/{token}/thumbnail/{fileId}?size=:
 * a file's thumbnail (WebP), streamed from the backend beside its blob.
 * - Who: `?sig=` from `File.thumbnailUrl` (so an `<img>` loads it), or a Bearer token; on a share,
 *   the share's rules (a password share: its unlock token as Bearer or `?unlock=`).
 * - Cached: a signed URL carries the content (`v=`) and a signature good for a day or two, so the
 *   answer never changes for that URL: `Cache-Control: private, max-age=<until it expires>,
 *   immutable`; a share's for an hour (it can be revoked). `ETag` is the content hash and size,
 *   If-None-Match → 304.
 * - Not ready, not an image, a folder, someone else's, a bad signature: 404 NOT_FOUND alike.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { bearerToken } from '../../internal/platform/auth/access-token.ts';
import { AppError } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import { THUMBNAIL_SIZES, type ThumbnailSize } from '../../internal/thumbnails/index.ts';
import type { Clients } from '../clients.ts';
import { evaluateConditions } from './conditional.ts';

interface Target {
  backend: string;
  key: string;
  etag: string;
}

const SHARE_MAX_AGE_S = 3600;

const sizeOf = (value: unknown): ThumbnailSize => {
  if (value === undefined) return 'MEDIUM';
  if (typeof value === 'string' && Object.hasOwn(THUMBNAIL_SIZES, value)) return value as ThumbnailSize;
  throw new AppError('BAD_INPUT', 'size is one of SMALL, MEDIUM, LARGE', { details: { field: 'size' } });
};

async function sendThumbnail(req: Request, res: Response, storage: StorageRouter, log: Logger, target: Target, maxAge: number): Promise<void> {
  const etag = `"${target.etag}"`;
  res.setHeader('ETag', etag);
  res.setHeader('Content-Type', 'image/webp');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // A signed URL or an unlock token is a credential: never sent on to another page.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', maxAge > 0 ? `private, max-age=${maxAge}, immutable` : 'private, no-cache');
  if (evaluateConditions(req.method, req.headers, { etag }).outcome === 'not-modified') return void res.status(304).end();
  const object = await storage.store(target.backend).get(target.key);
  res.setHeader('Content-Length', String(object.contentLength));
  if (req.method === 'HEAD') {
    object.body.destroy();
    return void res.end();
  }
  try {
    await pipeline(object.body, res);
  } catch (error) {
    if (!res.writableEnded) log.debug({ err: error }, 'thumbnail download interrupted');
  }
}

export function thumbnailRouter(clients: Clients, storage: StorageRouter, log: Logger, auth: RequestHandler): Router {
  const router = express.Router();
  const signedOrBearer: RequestHandler = (req, res, next) => (req.query.sig === undefined ? auth(req, res, next) : next());
  const own = async (req: Request, res: Response) => {
    const fileId = String(req.params.id);
    const size = sizeOf(req.query.size);
    const sig = req.query.sig;
    const target = sig === undefined
      ? await clients.files.thumbnails.open.query({ fileId, size })
      : await clients.files.thumbnails.openSigned.query({ fileId, size, sig: typeof sig === 'string' ? sig : '' });
    const maxAge = target.expires === null ? 0 : Math.max(0, target.expires - Math.floor(Date.now() / 1000));
    await sendThumbnail(req, res, storage, log, target, maxAge);
  };
  const shared = async (req: Request, res: Response) => {
    const size = sizeOf(req.query.size);
    const fromQuery = typeof req.query.unlock === 'string' && req.query.unlock.length <= 4096 ? req.query.unlock : null;
    const key = { token: String(req.params.token), unlockToken: bearerToken(req.headers.authorization) ?? fromQuery };
    const { file } = await clients.files.shares.content.query({ ...key, fileId: String(req.params.fileId), userAgent: req.headers['user-agent']?.slice(0, 512) });
    if (!file.contentHash) throw new AppError('NOT_FOUND', 'This file has no thumbnail (yet)', { details: { reason: 'thumbnail_not_ready' } });
    const target = await clients.files.thumbnails.locate.query({ key: { contentHash: file.contentHash, size: file.size }, size });
    await sendThumbnail(req, res, storage, log, target, SHARE_MAX_AGE_S);
  };
  for (const [path, handler] of [['/files/:id/thumbnail', own], ['/s/:token/thumbnail/:fileId', shared]] as const) {
    const guards: RequestHandler[] = path.startsWith('/files') ? [signedOrBearer] : [];
    router.get(path, ...guards, handler);
    router.head(path, ...guards, handler);
  }
  return router;
}
