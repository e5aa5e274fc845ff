/**
 * GET|HEAD /files/{id}/thumbnail?size=SMALL|MEDIUM|LARGE: the file's thumbnail (WebP), streamed
 * from the backend beside its blob.
 * - Who: `?sig=` from `File.thumbnailUrl` (so an `<img>` loads it), or a Bearer token.
 * - Cached: the URL carries the content (`v=`) and a signature good for a day or two, so the
 *   answer never changes for that URL: `Cache-Control: private, max-age=<until the signature
 *   expires>, immutable`; `ETag` is the content hash and size, If-None-Match → 304.
 * - Not ready, not an image, a folder, someone else's, a bad signature: 404 NOT_FOUND alike.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import { THUMBNAIL_SIZES, type ThumbnailSize } from '../../internal/thumbnails/index.ts';
import type { Clients } from '../clients.ts';
import { evaluateConditions } from './conditional.ts';

const sizeOf = (value: unknown): ThumbnailSize => {
  if (value === undefined) return 'MEDIUM';
  if (typeof value === 'string' && Object.hasOwn(THUMBNAIL_SIZES, value)) return value as ThumbnailSize;
  throw new AppError('BAD_INPUT', 'size is one of SMALL, MEDIUM, LARGE', { details: { field: 'size' } });
};

export function thumbnailRouter(clients: Clients, storage: StorageRouter, log: Logger, auth: RequestHandler): Router {
  const router = express.Router();
  const signedOrBearer: RequestHandler = (req, res, next) => (req.query.sig === undefined ? auth(req, res, next) : next());
  const handler = async (req: Request, res: Response) => {
    const fileId = String(req.params.id);
    const size = sizeOf(req.query.size);
    const sig = req.query.sig;
    const target = sig === undefined
      ? await clients.files.thumbnails.open.query({ fileId, size })
      : await clients.files.thumbnails.openSigned.query({ fileId, size, sig: typeof sig === 'string' ? sig : '' });
    const etag = `"${target.etag}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Content-Type', 'image/webp');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const maxAge = target.expires === null ? 0 : Math.max(0, target.expires - Math.floor(Date.now() / 1000));
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
  };
  router.get('/files/:id/thumbnail', signedOrBearer, handler);
  router.head('/files/:id/thumbnail', signedOrBearer, handler);
  return router;
}
