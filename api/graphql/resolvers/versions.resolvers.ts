/** File versions in GraphQL: File.versions through the per-request DataLoader, restore and delete as thin calls. */
import { requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const versionsResolvers: Resolvers = {
  File: {
    // A folder has none, and the batch of a listing is one statement (loaders.ts versions).
    versions: (file, _, ctx) => (file.isFolder ? [] : ctx.loaders.versions.load(file.id)),
  },
  Mutation: {
    restoreVersion: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.versions.restore.mutate({ fileId: args.fileId, versionId: args.versionId });
    },
    deleteVersion: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.versions.delete.mutate({ fileId: args.fileId, versionId: args.versionId });
    },
  },
};
