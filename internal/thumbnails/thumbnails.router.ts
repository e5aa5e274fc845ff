/** Thumbnails as tRPC procedures (nested in the files router): signed URLs for a page of files, and where one is. */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../platform/rpc/trpc.ts';
import type { ThumbnailsService } from './thumbnails.service.ts';
import { THUMBNAIL_SIZE_NAMES, type ThumbnailSize } from './thumbnails.rules.ts';

const Id = z.string().min(1).max(64);
const Content = z.object({ contentHash: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().min(0) });
const Size = z.enum(THUMBNAIL_SIZE_NAMES as [ThumbnailSize, ...ThumbnailSize[]]);

export function thumbnailsRouter(service: ThumbnailsService) {
  return router({
    signed: authedProcedure
      .input(z.object({ items: z.array(Content.extend({ fileId: Id, name: z.string().max(1024), mimeType: z.string().max(255).nullable(), thumb: Size })).max(1000) }))
      .query(({ ctx, input }) => service.signed(ctx.viewer, input.items)),
    open: authedProcedure.input(z.object({ fileId: Id, size: Size })).query(({ ctx, input }) => service.open({ viewer: ctx.viewer }, input.fileId, input.size)),
    /** For the gateway's share routes, after the share allowed the file: no viewer of its own. */
    ready: publicProcedure.input(z.object({ keys: z.array(Content).max(1000) })).query(({ input }) => service.ready(input.keys)),
    locate: publicProcedure.input(z.object({ key: Content, size: Size })).query(({ input }) => service.locate(input.key, input.size)),
    openSigned: publicProcedure
      .input(z.object({ fileId: Id, size: Size, sig: z.string().max(256) }))
      .query(({ input }) => service.open({ sig: input.sig }, input.fileId, input.size)),
  });
}

export type ThumbnailsRouter = ReturnType<typeof thumbnailsRouter>;
