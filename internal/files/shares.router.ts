/** Share links as tRPC procedures: the owner's (authed) and the visitor's (public, by token). */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../platform/rpc/trpc.ts';
import type { SharesService } from './shares.service.ts';

const Id = z.string().min(1).max(64);
const Token = z.string().max(128);
const Key = { token: Token, password: z.string().max(1024).nullish(), unlockToken: z.string().max(2048).nullish() };
/** A download request: the file (null: the shared file itself) and who asks (share-slots.service.ts). */
const Download = { fileId: Id.nullable(), userAgent: z.string().max(512).optional() };
const Settings = z.object({
  password: z.string().max(1024).nullish(),
  expiresAt: z.string().max(64).nullish(),
  maxDownloads: z.number().int().nullish(),
});
const Page = {
  first: z.number().int().min(0).max(500).default(50),
  after: z.string().max(512).optional(),
  orderBy: z.object({ field: z.enum(['NAME', 'SIZE', 'CREATED_AT', 'UPDATED_AT']), direction: z.enum(['ASC', 'DESC']) }).default({ field: 'NAME', direction: 'ASC' }),
};

export function sharesRouter(shares: SharesService) {
  return router({
    create: authedProcedure
      .input(Settings.extend({ fileId: Id }))
      .mutation(({ ctx, input }) => shares.create(ctx.viewer, input.fileId, input)),
    list: authedProcedure.query(({ ctx }) => shares.list(ctx.viewer)),
    update: authedProcedure.input(Settings.extend({ id: Id })).mutation(({ ctx, input }) => shares.update(ctx.viewer, input.id, input)),
    revoke: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => shares.revoke(ctx.viewer, input.id)),
    save: authedProcedure
      .input(z.object({ ...Key, targetFolderId: Id.nullable() }))
      .mutation(({ ctx, input }) => shares.save(ctx.viewer, input.token, { ...input, ip: ctx.ip }, input.targetFolderId)),
    open: publicProcedure.input(z.object(Key)).query(({ ctx, input }) => shares.open(input.token, { ...input, ip: ctx.ip })),
    unlock: publicProcedure
      .input(z.object({ token: Token, password: z.string().max(1024) }))
      .mutation(({ ctx, input }) => shares.unlock(input.token, input.password, ctx.ip)),
    node: publicProcedure
      .input(z.object({ ...Key, id: Id.nullable() }))
      .query(({ ctx, input }) => shares.node(input.token, { ...input, ip: ctx.ip }, input.id)),
    children: publicProcedure
      .input(z.object({ ...Key, folderId: Id.nullable(), ...Page }))
      .query(({ ctx, input }) => shares.children(input.token, { ...input, ip: ctx.ip }, input.folderId, input)),
    content: publicProcedure
      .input(z.object({ ...Key, ...Download }))
      .query(({ ctx, input }) => shares.content(input.token, { ...input, ip: ctx.ip }, input.fileId, { ip: ctx.ip, userAgent: input.userAgent })),
    takeDownloadSlot: publicProcedure
      .input(z.object({ ...Key, ...Download, resume: z.boolean() }))
      .mutation(({ ctx, input }) =>
        shares.takeDownloadSlot(input.token, { ...input, ip: ctx.ip }, input.fileId, { ip: ctx.ip, userAgent: input.userAgent }, input.resume)),
    releaseDownloadSlot: publicProcedure
      .input(z.object({ ticket: z.string().max(64) }))
      .mutation(({ input }) => shares.releaseDownloadSlot(input.ticket)),
  });
}
