/**
 * GET|HEAD /s/{token} (a shared file) and /s/{token}/{fileId} (a file inside a shared folder):
 * downloads for visitors, with full Range support. A password share wants
 * `Authorization: Bearer <token from unlockShare>`, or that token as `?unlock=` so that a browser
 * can hand the link to its own download manager (which sends no header); the password itself
 * never travels in a URL, and the unlock token is bound to this one share and lives an hour.
 * The share is checked on every request, so revocation, expiry and the download limit stop a
 * download under way at its next range request. One download is counted when the file's last
 * byte has been sent (see SharesService).
 */
import express, { type Request, type Response, type Router } from 'express';
import { bearerToken } from '../../internal/platform/auth/access-token.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { Clients } from '../clients.ts';
import { sendContent } from './download.handler.ts';

export function shareDownloadRouter(clients: Clients, storage: StorageRouter, log: Logger): Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response) => {
    const fromQuery = typeof req.query.unlock === 'string' && req.query.unlock.length <= 4096 ? req.query.unlock : null;
    const key = { token: String(req.params.token), unlockToken: bearerToken(req.headers.authorization) ?? fromQuery };
    const fileId = typeof req.params.fileId === 'string' ? req.params.fileId : null;
    const { file, blob } = await clients.files.shares.content.query({ ...key, fileId });
    res.setHeader('Referrer-Policy', 'no-referrer');
    await sendContent(
      req,
      res,
      storage,
      {
        name: file.name, size: file.size, mimeType: file.mimeType, etag: file.contentHash ?? '', backend: blob.backend, storageKey: blob.storageKey,
        lastModified: new Date(file.updatedAt),
      },
      log,
      async (endedFile) => {
        if (endedFile) await clients.files.shares.countDownload.mutate(key).catch((error: unknown) => log.debug({ err: error }, 'download not counted'));
      },
    );
  };
  for (const path of ['/s/:token', '/s/:token/:fileId']) {
    router.get(path, handler);
    router.head(path, handler);
  }
  return router;
}
