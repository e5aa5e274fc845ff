/** Share links in GraphQL: the owner's mutations and the visitor's public view. */
import type { FileDto, ShareDto } from '../../../internal/files/index.ts';
import type { GraphQLContext } from '../context.ts';
import { requireViewer } from '../context.ts';

type Ctx = GraphQLContext;
interface Key {
  token: string;
  password?: string | null;
  unlockToken?: string | null;
}
/** A file seen through a share: carries the key so nested fields can ask again. */
type Shared = FileDto & { key: Key; rootId: string };
interface OrderArg {
  field: 'NAME' | 'SIZE' | 'CREATED_AT' | 'UPDATED_AT';
  direction: 'ASC' | 'DESC';
}

const shared = (file: FileDto, key: Key, rootId: string): Shared => ({ ...file, key, rootId });
const present = <T extends object>(input: T, field: keyof T) => Object.prototype.hasOwnProperty.call(input, field);

function settings(input: { password?: string | null; expiresAt?: Date | null; maxDownloads?: number | null }) {
  return {
    ...(present(input, 'password') ? { password: input.password ?? null } : {}),
    ...(present(input, 'expiresAt') ? { expiresAt: input.expiresAt ? input.expiresAt.toISOString() : null } : {}),
    ...(present(input, 'maxDownloads') ? { maxDownloads: input.maxDownloads ?? null } : {}),
  };
}

export const sharesResolvers = {
  Query: {
    shares: (_: unknown, __: unknown, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.list.query();
    },
    share: async (_: unknown, args: Key, ctx: Ctx) => {
      const opened = await ctx.clients.files.shares.open.query(args);
      return { ...opened, key: args };
    },
  },
  Share: {
    url: (share: ShareDto, _: unknown, ctx: Ctx) => `${ctx.origin}/share/${share.token}`,
    file: (share: ShareDto, _: unknown, ctx: Ctx) => ctx.loaders.file.load(share.fileId),
  },
  PublicShare: {
    root: (s: { root: FileDto; key: Key }) => shared(s.root, s.key, s.root.id),
    item: async (s: { root: FileDto; key: Key }, args: { id?: string | null }, ctx: Ctx) =>
      shared(await ctx.clients.files.shares.node.query({ ...s.key, id: args.id ?? null }), s.key, s.root.id),
  },
  SharedFile: {
    downloadPath: (f: Shared) => (f.id === f.rootId ? `/s/${f.key.token}` : `/s/${f.key.token}/${f.id}`),
    children: async (f: Shared, args: { first?: number; after?: string | null; orderBy?: OrderArg }, ctx: Ctx) => {
      const page = await ctx.clients.files.shares.children.query({
        ...f.key, folderId: f.id, first: args.first ?? 50, after: args.after ?? undefined, orderBy: args.orderBy ?? { field: 'NAME', direction: 'ASC' },
      });
      return { ...page, edges: page.edges.map((e) => ({ cursor: e.cursor, node: shared(e.node, f.key, f.rootId) })) };
    },
  },
  Mutation: {
    createShare: (_: unknown, args: { input: { fileId: string; password?: string | null; expiresAt?: Date | null; maxDownloads?: number | null } }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.create.mutate({ fileId: args.input.fileId, ...settings(args.input) });
    },
    updateShare: (_: unknown, args: { id: string; input: { password?: string | null; expiresAt?: Date | null; maxDownloads?: number | null } }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.update.mutate({ id: args.id, ...settings(args.input) });
    },
    revokeShare: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.revoke.mutate(args);
    },
    unlockShare: (_: unknown, args: { token: string; password: string }, ctx: Ctx) => ctx.clients.files.shares.unlock.mutate(args),
    saveShare: (_: unknown, args: { token: string; password?: string | null; targetFolderId?: string | null }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.shares.save.mutate({ token: args.token, password: args.password ?? null, targetFolderId: args.targetFolderId ?? null });
    },
  },
};
