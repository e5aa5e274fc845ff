/** `search`: a thin call to the files service's search (internal/files/search). */
import { assertSearchQueryLength } from '../../../internal/files/index.ts';
import { requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const searchResolvers: Resolvers = {
  Query: {
    search: (_, args, ctx) => {
      requireViewer(ctx);
      // Before the hop: the query goes to the files service in a URL (search.service.ts).
      assertSearchQueryLength(args.query);
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
