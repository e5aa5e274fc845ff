/** Personal access tokens in GraphQL: thin calls to the accounts service (session only, checked there). */
import { requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const accessTokensResolvers: Resolvers = {
  Query: {
    accessTokens: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.accounts.accessTokens.list.query();
    },
  },
  Mutation: {
    createAccessToken: (_, { input }, ctx) => {
      requireViewer(ctx);
      return ctx.clients.accounts.accessTokens.create.mutate({
        name: input.name,
        scopes: input.scopes,
        expiresAt: input.expiresAt ? input.expiresAt.toISOString() : null,
      });
    },
    revokeAccessToken: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.accounts.accessTokens.revoke.mutate(args);
    },
  },
};
