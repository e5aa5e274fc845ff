/**
 * GET|HEAD /files/{id}/versions/{versionId}/content: an older content of one of the Bearer
 * token's person's files (File.versions), answered exactly like the file's own content
 * (download.handler.ts sendOrRedirect: Range → 206/416, the strong `ETag: "<contentHash>"` of the
 * version's content, conditionals, Content-Disposition with the file's name, or a redirect on a
 * `downloads: "redirect"` backend). Another person's file, another file's version or an id that is
 * no version: 404 NOT_FOUND alike. Without a token, `?sig=` from `createDownloadLink(id,
 * versionId)` (download-links.service.ts) opens that one version, for a browser's download manager.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import express from 'express';
import type { Logger } from '../../internal/platform/logger.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { Clients } from '../clients.ts';
import { sendOrRedirect, signatureOf, signedOrBearer, type Content, type Downloading } from './download.handler.ts';

export function versionDownloadRouter(clients: Clients, storage: StorageRouter, log: Logger, auth: RequestHandler, downloading: Downloading = {}): Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response) => {
    const [fileId, versionId, sig] = [String(req.params.id), String(req.params.versionId), signatureOf(req)];
    const { file, version, blob } = sig === undefined
      ? await clients.files.versions.content.query({ fileId, versionId })
      : await clients.files.downloadLinks.versionContent.query({ id: fileId, versionId, sig });
    const content: Content = {
      name: file.name, size: version.size, mimeType: version.mimeType, etag: version.contentHash, backend: blob.backend, storageKey: blob.storageKey,
      lastModified: new Date(version.createdAt),
    };
    // A signed URL is a credential: never leak it to the pages a download might link to.
    if (sig !== undefined) res.setHeader('Referrer-Policy', 'no-referrer');
    await sendOrRedirect(req, res, storage, content, log, downloading);
  };
  router.get('/files/:id/versions/:versionId/content', signedOrBearer(auth), handler);
  router.head('/files/:id/versions/:versionId/content', signedOrBearer(auth), handler);
  return router;
}
