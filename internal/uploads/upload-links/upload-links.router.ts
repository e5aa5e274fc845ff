/** File-drop links as tRPC procedures (nested in the uploads router as `links`): the owner's (authed) and the visitor's (public, by token). */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../../platform/rpc/trpc.ts';
import type { UploadLinksService } from './upload-links.service.ts';

const Id = z.string().min(1).max(64);
const Token = z.string().max(128);
const Settings = z.object({
  password: z.string().max(1024).nullish(),
  expiresAt: z.string().max(64).nullish(),
  maxFiles: z.number().int().nullish(),
  maxBytes: z.number().int().nullish(),
});

export function uploadLinksRouter(links: UploadLinksService) {
  return router({
    create: authedProcedure.input(Settings.extend({ folderId: Id })).mutation(({ ctx, input }) => links.create(ctx.viewer, input.folderId, input)),
    list: authedProcedure.query(({ ctx }) => links.list(ctx.viewer)),
    get: authedProcedure.input(z.object({ id: Id })).query(({ ctx, input }) => links.get(ctx.viewer, input.id)),
    update: authedProcedure.input(Settings.extend({ id: Id })).mutation(({ ctx, input }) => links.update(ctx.viewer, input.id, input)),
    revoke: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => links.revoke(ctx.viewer, input.id)),
    arrivals: authedProcedure
      .input(z.object({ id: Id, first: z.number().int().min(0).max(100).default(20) }))
      .query(({ ctx, input }) => links.arrivals(ctx.viewer, input.id, input.first)),
    info: publicProcedure.input(z.object({ token: Token, unlockToken: Token.nullable() })).query(({ input }) => links.info(input.token, input.unlockToken)),
    unlock: publicProcedure.input(z.object({ token: Token, password: z.string().max(1024) })).mutation(({ ctx, input }) => links.unlock(input.token, input.password, ctx.ip)),
    /** The gateway's /drop/{token}/tus/ principal; `creating` for a POST (per-address budget). */
    resolve: publicProcedure
      .input(z.object({ token: Token, unlockToken: Token.nullable(), creating: z.boolean() }))
      .mutation(({ ctx, input }) => links.resolve(input.token, input.unlockToken, ctx.ip, input.creating)),
  });
}

export type UploadLinksRouter = ReturnType<typeof uploadLinksRouter>;
