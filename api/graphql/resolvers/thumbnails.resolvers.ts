/** File.thumbnailUrl: signed URLs for a page of files in one batched call (loaders.thumbnail). */
import type { Resolvers } from '../resolvers.generated.ts';

export const thumbnailsResolvers: Resolvers = {
  File: {
    thumbnailUrl: async (file, args, ctx) => {
      if (file.isFolder || !file.contentHash || !ctx.viewer) return null;
      const size = args.size ?? 'MEDIUM';
      const signed = await ctx.loaders.thumbnail.load({ fileId: file.id, size });
      if (!signed) return null;
      const query = new URLSearchParams({ size, v: signed.version, sig: signed.sig });
      return `${ctx.origin}/files/${encodeURIComponent(file.id)}/thumbnail?${query.toString()}`;
    },
  },
};
