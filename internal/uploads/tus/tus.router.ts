/** The tus procedures of the uploads service (nested as `uploads.tus`): parse with zod, call TusService. */
import { z } from 'zod';
import { authedProcedure, router } from '../../platform/rpc/trpc.ts';
import type { TusService } from './tus.service.ts';
import { MEDIA_TYPE_MAX_LENGTH, MEDIA_TYPE_RE } from '../media-type.rules.ts';

const Id = z.string().min(1).max(64);
const LinkId = Id.nullable();
const Token = z.string().max(64);

export function tusRouter(tus: TusService) {
  return router({
    create: authedProcedure
      .input(
        z.object({
          parentId: Id.nullable(),
          name: z.string().max(1024),
          size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
          mimeType: z.string().regex(MEDIA_TYPE_RE).max(MEDIA_TYPE_MAX_LENGTH).nullable(),
          uploadLinkId: LinkId,
          metadata: z.string().max(8 * 1024),
        }),
      )
      .mutation(({ ctx, input }) => tus.create(ctx.viewer, input)),
    get: authedProcedure.input(z.object({ id: Id, uploadLinkId: LinkId })).query(({ ctx, input }) => tus.get(ctx.viewer, input.id, input.uploadLinkId)),
    lock: authedProcedure.input(z.object({ id: Id, uploadLinkId: LinkId })).mutation(({ ctx, input }) => tus.lock(ctx.viewer, input.id, input.uploadLinkId)),
    renew: authedProcedure.input(z.object({ id: Id, lockToken: Token })).mutation(({ ctx, input }) => tus.renew(ctx.viewer, input.id, input.lockToken)),
    unlock: authedProcedure.input(z.object({ id: Id, lockToken: Token })).mutation(({ ctx, input }) => tus.unlock(ctx.viewer, input.id, input.lockToken)),
    recordPart: authedProcedure
      .input(
        z.object({
          id: Id, lockToken: Token, multipartId: z.string().max(1024), index: z.number().int().min(0), etag: z.string().max(256),
          size: z.number().int().min(1), digests: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(64),
        }),
      )
      .mutation(({ ctx, input }) => tus.recordPart(ctx.viewer, input)),
    setTail: authedProcedure
      .input(z.object({ id: Id, lockToken: Token, index: z.number().int().min(0), length: z.number().int().min(0), slot: z.union([z.literal(0), z.literal(1)]) }))
      .mutation(({ ctx, input }) => tus.setTail(ctx.viewer, input)),
    terminate: authedProcedure.input(z.object({ id: Id, uploadLinkId: LinkId })).mutation(({ ctx, input }) => tus.terminate(ctx.viewer, input.id, input.uploadLinkId)),
  });
}
