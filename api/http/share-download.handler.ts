/**
 * GET|HEAD /s/{token} (a shared file) and /s/{token}/{fileId} (a file inside a shared folder):
 * downloads for visitors, with full Range support. A password share wants
 * `Authorization: Bearer <token from unlockShare>`, or that token as `?unlock=` so that a browser
 * can hand the link to its own download manager (which sends no header); the password itself
 * never travels in a URL, and the unlock token is bound to this one share and lives an hour.
 * The share is checked on every request, so revocation and expiry stop a download under way at
 * its next range request. A download takes its slot of the share's limit before the first byte
 * goes (download-intent.ts says whether a request starts or resumes one, share-slots.service.ts counts),
 * and gives it back when the object cannot be opened; once bytes went, the slot stays taken and
 * the client can resume with If-Range.
 */
import express, { type Request, type Response, type Router } from 'express';
import { bearerToken } from '../../internal/platform/auth/access-token.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { Clients } from '../clients.ts';
import { downloadIntent } from './download-intent.ts';
import { sendContent, type Content, type Downloading } from './download.handler.ts';

export function shareDownloadRouter(clients: Clients, storage: StorageRouter, log: Logger, downloading: Downloading = {}): Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response) => {
    const fromQuery = typeof req.query.unlock === 'string' && req.query.unlock.length <= 4096 ? req.query.unlock : null;
    const key = { token: String(req.params.token), unlockToken: bearerToken(req.headers.authorization) ?? fromQuery };
    const fileId = typeof req.params.fileId === 'string' ? req.params.fileId : null;
    const userAgent = req.headers['user-agent']?.slice(0, 512);
    const { file, blob } = await clients.files.shares.content.query({ ...key, fileId, userAgent });
    res.setHeader('Referrer-Policy', 'no-referrer');
    const content: Content = {
      name: file.name, size: file.size, mimeType: file.mimeType, etag: file.contentHash ?? '', backend: blob.backend, storageKey: blob.storageKey,
      lastModified: new Date(file.updatedAt),
    };
    const intent = downloadIntent(req, { etag: `"${content.etag}"`, lastModified: content.lastModified }, content.size);
    const { ticket } = intent ? await clients.files.shares.takeDownloadSlot.mutate({ ...key, fileId, userAgent, resume: intent.resume }) : { ticket: null };
    try {
      await sendContent(req, res, storage, content, log, { ...downloading, mode: 'share' });
    } catch (error) {
      // Nothing was sent (the object could not be opened): this request did not download.
      if (ticket !== null && !res.headersSent) {
        await clients.files.shares.releaseDownloadSlot.mutate({ ticket }).catch((err: unknown) => log.warn({ err }, 'share download slot not given back'));
      }
      throw error;
    }
  };
  for (const path of ['/s/:token', '/s/:token/:fileId']) {
    router.get(path, handler);
    router.head(path, handler);
  }
  return router;
}
