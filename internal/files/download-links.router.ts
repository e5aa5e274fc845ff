/** Signed download links as tRPC procedures: the owner signs (authed), anyone with the link opens (public). */
import { z } from 'zod';
import { authedProcedure, publicProcedure, router } from '../platform/rpc/trpc.ts';
import type { DownloadLinks } from './download-links.ts';

const Id = z.string().min(1).max(64);

export function downloadLinksRouter(links: DownloadLinks) {
  return router({
    create: authedProcedure.input(z.object({ id: Id })).mutation(async ({ ctx, input }) => {
      const { sig, expiresAt } = await links.create(ctx.viewer, input.id);
      return { sig, expiresAt: expiresAt.toISOString() };
    }),
    content: publicProcedure.input(z.object({ id: Id, sig: z.string().max(256) })).query(async ({ input }) => {
      const { file, blob } = await links.open(input.id, input.sig);
      return { file, blob: { backend: blob.backend, storageKey: blob.storageKey } };
    }),
  });
}
