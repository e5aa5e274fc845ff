/** File-drop links in GraphQL: the owner's mutations, the visitor's public info and unlock, arrivals live. */
import { uploadLinkArrivals } from '../../../internal/uploads/index.ts';
import { asViewer, requireViewer } from '../context.ts';
import type { Resolvers, UpdateUploadLinkInput } from '../resolvers.generated.ts';

const present = <T extends object>(input: T, field: keyof T) => Object.prototype.hasOwnProperty.call(input, field);

function settings(input: UpdateUploadLinkInput) {
  return {
    ...(present(input, 'password') ? { password: input.password ?? null } : {}),
    ...(present(input, 'expiresAt') ? { expiresAt: input.expiresAt ? input.expiresAt.toISOString() : null } : {}),
    ...(present(input, 'maxFiles') ? { maxFiles: input.maxFiles ?? null } : {}),
    ...(present(input, 'maxBytes') ? { maxBytes: input.maxBytes ?? null } : {}),
  };
}

export const uploadLinksResolvers: Resolvers = {
  Query: {
    uploadLinks: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.links.list.query();
    },
    uploadLinkInfo: (_, args, ctx) => ctx.clients.uploads.links.info.query({ token: args.token, unlockToken: args.unlockToken ?? null }),
  },
  UploadLink: {
    url: (link, _, ctx) => `${ctx.origin}/drop/${link.token}`,
    folder: (link, _, ctx) => ctx.loaders.file.load(link.folderId),
    arrivals: (link, args, ctx) => ctx.clients.uploads.links.arrivals.query({ id: link.id, first: args.first ?? 20 }),
  },
  Mutation: {
    createUploadLink: (_, { input }, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.links.create.mutate({ folderId: input.folderId, ...settings(input) });
    },
    updateUploadLink: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.links.update.mutate({ id: args.id, ...settings(args.input) });
    },
    revokeUploadLink: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.links.revoke.mutate(args);
    },
    unlockUploadLink: (_, args, ctx) => ctx.clients.uploads.links.unlock.mutate(args),
  },
  Subscription: {
    uploadLinkActivity: {
      subscribe: async function* (_, args, ctx) {
        const viewer = requireViewer(ctx);
        const linkId = args.linkId ?? null;
        // Only the owner: reading the link first answers NOT_FOUND for anyone else's id.
        if (linkId) await asViewer(ctx, () => ctx.clients.uploads.links.get.query({ id: linkId }));
        for await (const arrival of uploadLinkArrivals(ctx.bytes.pubsub, viewer.userId, linkId)) yield { uploadLinkActivity: arrival };
      },
    },
  },
};
