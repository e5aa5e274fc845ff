/** `search`: a thin call to the files service's search (internal/files/search). */
import { requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const searchResolvers: Resolvers = {
  Query: {
    search: (_, args, ctx) => {
      requireViewer(ctx);
      const f = args.filter;
      return ctx.clients.files.search.query({
        query: args.query,
        first: args.first ?? 50,
        after: args.after ?? undefined,
        ...(f
          ? {
              filter: {
                ...(f.mimeTypePrefix != null ? { mimeTypePrefix: f.mimeTypePrefix } : {}),
                ...(f.modifiedAfter != null ? { modifiedAfter: f.modifiedAfter } : {}),
                ...(f.minSize != null ? { minSize: f.minSize } : {}),
                ...(f.maxSize != null ? { maxSize: f.maxSize } : {}),
                ...(f.foldersOnly != null ? { foldersOnly: f.foldersOnly } : {}),
              },
            }
          : {}),
      });
    },
  },
};
