/** The activity log in GraphQL: thin calls to the files service's activity procedures. */
import { requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const activityResolvers: Resolvers = {
  Query: {
    activity: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.activity.list.query({ first: args.first ?? 50, ...(args.after ? { after: args.after } : {}), fileId: args.fileId ?? null });
    },
    auditLog: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.activity.audit.query({ first: args.first ?? 50, ...(args.after ? { after: args.after } : {}) });
    },
  },
  ActivityEvent: {
    // Batched per request (loaders.ts); null when the file is no longer live (trashed or purged).
    file: (event, _, ctx) => (event.fileId ? ctx.loaders.file.load(event.fileId) : null),
  },
};
