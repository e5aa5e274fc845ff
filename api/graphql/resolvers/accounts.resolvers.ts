/** Accounts in GraphQL: thin calls to the accounts service. */
import { setTimeout as sleep } from 'node:timers/promises';
import { requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';
import { AppError } from '../../../internal/platform/errors.ts';

export const accountsResolvers: Resolvers = {
  Query: {
    me: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.accounts.me.query();
    },
  },
  Mutation: {
    requestEmailCode: (_, args, ctx) =>
      ctx.clients.accounts.requestEmailCode.mutate(args),
    register: (_, args, ctx) =>
      ctx.clients.accounts.register.mutate(args.input),
    login: (_, args, ctx) =>
      ctx.clients.accounts.login.mutate(args),
    refreshToken: (_, args, ctx) =>
      ctx.clients.accounts.refreshToken.mutate(args),
    logout: (_, args, ctx) =>
      ctx.clients.accounts.logout.mutate(args),
    logoutAll: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.accounts.logoutAll.mutate();
    },
    changePassword: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.accounts.changePassword.mutate(args);
    },
    requestPasswordReset: (_, args, ctx) =>
      ctx.clients.accounts.requestPasswordReset.mutate(args),
    resetPassword: (_, args, ctx) =>
      ctx.clients.accounts.resetPassword.mutate(args),
    refreshConnection: (_, args, ctx) => {
      requireViewer(ctx);
      if (!ctx.connection) {
        throw new AppError('BAD_INPUT', 'refreshConnection works over a graphql-ws connection only', { details: { reason: 'not_a_websocket' } });
      }
      return ctx.connection.refresh(args.accessToken);
    },
  },
  Subscription: {
    heartbeat: {
      subscribe: async function* (_, args, ctx) {
        const viewer = requireViewer(ctx);
        const interval = Math.min(60_000, Math.max(100, args.intervalMs));
        for (;;) {
          yield { heartbeat: { at: new Date(), userId: viewer.userId } };
          await sleep(interval);
        }
      },
    },
  },
};
