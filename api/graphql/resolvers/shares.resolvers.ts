/** Share links in GraphQL: the owner's mutations and the visitor's public view. */
import { requireViewer } from '../context.ts';
import type { FileParent, ShareKey, SharedFileParent } from '../mappers.ts';
import type { Resolvers, UpdateShareInput } from '../resolvers.generated.ts';
import { DEFAULT_ORDER } from './files.resolvers.ts';

const shared = (file: FileParent, key: ShareKey, rootId: string): SharedFileParent => ({ ...file, key, rootId });
const present = <T extends object>(input: T, field: keyof T) => Object.prototype.hasOwnProperty.call(input, field);

function settings(input: UpdateShareInput) {
  return {
    ...(present(input, 'password') ? { password: input.password ?? null } : {}),
    ...(present(input, 'expiresAt') ? { expiresAt: input.expiresAt ? input.expiresAt.toISOString() : null } : {}),
    ...(present(input, 'maxDownloads') ? { maxDownloads: input.maxDownloads ?? null } : {}),
  };
}

export const sharesResolvers: Resolvers = {
  Query: {
    shares: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.list.query();
    },
    share: async (_, args, ctx) => {
      const opened = await ctx.clients.files.shares.open.query(args);
      return { ...opened, key: args };
    },
  },
  Share: {
    url: (share, _, ctx) => `${ctx.origin}/share/${share.token}`,
    file: (share, _, ctx) => ctx.loaders.file.load(share.fileId),
  },
  PublicShare: {
    root: (s) => shared(s.root, s.key, s.root.id),
    item: async (s, args, ctx) =>
      shared(await ctx.clients.files.shares.node.query({ ...s.key, id: args.id ?? null }), s.key, s.root.id),
  },
  SharedFile: {
    downloadPath: (f) => (f.id === f.rootId ? `/s/${f.key.token}` : `/s/${f.key.token}/${f.id}`),
    children: async (f, args, ctx) => {
      const page = await ctx.clients.files.shares.children.query({
        ...f.key, folderId: f.id, first: args.first ?? 50, after: args.after ?? undefined, orderBy: args.orderBy ?? DEFAULT_ORDER,
      });
      return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: shared(e.node, f.key, f.rootId) })) };
    },
  },
  Mutation: {
    createShare: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.create.mutate({ fileId: args.input.fileId, ...settings(args.input) });
    },
    updateShare: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.update.mutate({ id: args.id, ...settings(args.input) });
    },
    revokeShare: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.revoke.mutate(args);
    },
    unlockShare: (_, args, ctx) => ctx.clients.files.shares.unlock.mutate(args),
    saveShare: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.save.mutate({ token: args.token, password: args.password ?? null, targetFolderId: args.targetFolderId ?? null });
    },
  },
};
