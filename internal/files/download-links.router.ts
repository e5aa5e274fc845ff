/** Signed download links as tRPC procedures: the owner signs (authed), anyone with the link opens (public). */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../platform/rpc/trpc.ts';
import type { DownloadLinks } from './download-links.service.ts';

const Id = z.string().min(1).max(64);

export function downloadLinksRouter(links: DownloadLinks) {
  return router({
    create: authedProcedure.input(z.object({ id: Id, versionId: Id.optional() })).mutation(({ ctx, input }) => links.create(ctx.viewer, input.id, input.versionId)),
    content: publicProcedure.input(z.object({ id: Id, sig: z.string().max(256) })).query(({ input }) => links.open(input.id, input.sig)),
    versionContent: publicProcedure.input(z.object({ id: Id, versionId: Id, sig: z.string().max(256) })).query(({ input }) => links.openVersion(input.id, input.versionId, input.sig)),
  });
}
