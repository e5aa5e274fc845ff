/** File.thumbnailUrl and SharedFile.thumbnailUrl: one batched call per page of files (loaders). */
import type { Resolvers } from '../resolvers.generated.ts';

export const thumbnailsResolvers: Resolvers = {
  File: {
    thumbnailUrl: async (file, args, ctx) => {
      if (file.isFolder || !file.contentHash || !ctx.viewer) return null;
      const size = args.size ?? 'MEDIUM';
      // The parent is a File the viewer may see (it came from their own query): its content is passed on.
      const signed = await ctx.loaders.thumbnail.load({ fileId: file.id, name: file.name, mimeType: file.mimeType, contentHash: file.contentHash, size: file.size, thumb: size });
      if (!signed) return null;
      const query = new URLSearchParams({ size, v: signed.version, sig: signed.sig });
      return `${ctx.origin}/files/${encodeURIComponent(file.id)}/thumbnail?${query.toString()}`;
    },
  },
  SharedFile: {
    thumbnailUrl: async (file, args, ctx) => {
      if (file.isFolder || !file.contentHash) return null;
      if (!(await ctx.loaders.thumbnailReady.load({ contentHash: file.contentHash, size: file.size }))) return null;
      const size = args.size ?? 'MEDIUM';
      const query = new URLSearchParams({ size, v: file.contentHash.slice(0, 16) });
      // An <img> sends no header: a password share's unlock token rides in the URL, as for downloads.
      if (file.key.unlockToken) query.set('unlock', file.key.unlockToken);
      return `${ctx.origin}/s/${encodeURIComponent(file.key.token)}/thumbnail/${encodeURIComponent(file.id)}?${query.toString()}`;
    },
  },
};
