/**
 * GET|HEAD /files/{id}/content: the file's bytes, streamed from its backend.
 * - `Accept-Ranges: bytes`; `Range` → 206 with `Content-Range`; unsatisfiable → 416 with
 *   `Content-Range: bytes * /size` (RFC 9110 §15.5.17).
 * - `ETag` is the strong, content-derived `"<contentHash>"`; `If-Range` applies the Range only
 *   when it names the current ETag ("the server MUST ignore the Range ... if the validator does
 *   not match"); `If-None-Match` → 304.
 * - `Content-Disposition: attachment` with the file's name (RFC 6266/8187, injection-safe);
 *   `?inline=1` asks for inline display.
 * - On a backend configured with `downloads: "redirect"`, a plain GET is answered with 302 to a
 *   presigned URL instead (download-redirect.ts says which requests).
 */
import type { Request, Response, Router } from 'express';
import express from 'express';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import { contentDisposition } from '../../internal/storage/support/content-disposition.ts';
import type { Clients } from '../clients.ts';
import { redirectTarget } from './download-redirect.ts';
import { parseRange } from './range.ts';

export interface Content {
  name: string;
  size: number;
  mimeType: string | null;
  etag: string;
  backend: string;
  storageKey: string;
}

const INLINE_SAFE = /^(image\/(png|jpeg|gif|webp|avif)|video\/[\w.+-]+|audio\/[\w.+-]+|application\/pdf|text\/plain)$/;

/** Sends stored bytes honouring the conditional and range headers. Shared by file and share downloads. */
export async function sendContent(
  req: Request,
  res: Response,
  storage: StorageRouter,
  content: Content,
  log: Logger,
  /** Called once the bytes of a GET were all sent, with whether they included the file's last byte. */
  onSent?: (endedFile: boolean) => Promise<void>,
): Promise<void> {
  const etag = `"${content.etag}"`;
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  // Inline only for types a browser cannot run as our origin's script (no HTML, SVG, XML).
  const inline = req.query.inline === '1' && INLINE_SAFE.test(content.mimeType ?? '');
  res.setHeader('Content-Disposition', contentDisposition(content.name, inline ? 'inline' : 'attachment'));
  res.setHeader('Content-Type', content.mimeType ?? 'application/octet-stream');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === etag || t.trim() === '*')) {
    res.status(304).end();
    return;
  }
  const ifRange = req.get('if-range');
  const rangeHeader = ifRange === undefined || ifRange.trim() === etag ? req.headers.range : undefined;
  const range = parseRange(rangeHeader, content.size);
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${content.size}`);
    res.status(416).json({ error: { code: 'BAD_INPUT', message: 'Range not satisfiable', details: { reason: 'range_not_satisfiable', size: content.size } } });
    return;
  }
  const slice = range.kind === 'single' ? range.range : undefined;
  const length = slice ? slice.end - slice.start + 1 : content.size;
  res.status(slice ? 206 : 200);
  if (slice) res.setHeader('Content-Range', `bytes ${slice.start}-${slice.end}/${content.size}`);
  res.setHeader('Content-Length', String(length));
  const endsFile = !slice || slice.end === content.size - 1;
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    if (req.method !== 'HEAD') await onSent?.(endsFile);
    return;
  }
  const object = await storage.store(content.backend).get(content.storageKey, slice);
  try {
    await pipeline(object.body, res);
    await onSent?.(endsFile);
  } catch (error) {
    // The client went away mid-transfer, or the backend broke off: the response is already
    // under way, so all we can do is stop and say so in the log.
    if (!res.writableEnded) log.debug({ err: error }, 'download interrupted');
  }
}

export function downloadRouter(clients: Clients, storage: StorageRouter, log: Logger, auth: express.RequestHandler): Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const { file, blob } = await clients.files.content.query({ id });
    if (!file.contentHash) throw new AppError('INTERNAL', 'file without content hash');
    const content: Content = { name: file.name, size: file.size, mimeType: file.mimeType, etag: file.contentHash, backend: blob.backend, storageKey: blob.storageKey };
    const target = await redirectTarget(req, storage, content);
    if (target === null) return sendContent(req, res, storage, content, log);
    // The URL is a bearer credential for this object for a few minutes: no cache may keep it.
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.redirect(302, target);
  };
  router.get('/files/:id/content', auth, handler);
  router.head('/files/:id/content', auth, handler);
  return router;
}
