/**
 * GET and HEAD of a file: its bytes through the download endpoints' sender (api/http/download.handler.ts
 * sendContent), so Range (206/416), the strong `ETag` (the content hash), `Last-Modified` and the
 * conditional headers (If-None-Match → 304, If-Match → 412, If-Range) behave exactly as there.
 * A folder has no content: RFC 4918 §9.4 "GET, when applied to a collection, may return the
 * contents of an 'index.html' resource, a human-readable view of the contents of the collection,
 * or something else altogether" — here 405 with the methods that do apply (PROPFIND lists it).
 */
import { AppError } from '../../internal/platform/errors.ts';
import { sendContent, type Content } from '../http/download.handler.ts';
import { requireItem, type DavContext } from './dav-context.ts';
import { DavError } from './dav-errors.ts';

export const COLLECTION_METHODS = 'OPTIONS, PROPFIND, PROPPATCH, MKCOL, DELETE, COPY, MOVE, LOCK, UNLOCK';

export async function getHandler(ctx: DavContext): Promise<void> {
  const item = await requireItem(ctx);
  if (item.node.isFolder) {
    throw new DavError(405, 'A folder has no content to download; list it with PROPFIND', [], { Allow: COLLECTION_METHODS });
  }
  const { file, blob } = await ctx.deps.clients.files.content.query({ id: item.node.id });
  if (!file.contentHash) throw new AppError('INTERNAL', 'file without content hash');
  const content: Content = {
    name: file.name, size: file.size, mimeType: file.mimeType, etag: file.contentHash, backend: blob.backend, storageKey: blob.storageKey,
    lastModified: new Date(file.updatedAt),
  };
  await sendContent(ctx.req, ctx.res, ctx.deps.storage, content, ctx.deps.log, { meter: ctx.deps.downloadMeter, splicer: ctx.deps.splicer, mode: 'proxy' });
}
