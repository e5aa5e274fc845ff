/** Accounts in GraphQL: thin calls to the accounts service. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GraphQLContext } from '../context.ts';
import { requireViewer } from '../context.ts';
import { AppError } from '../../../internal/platform/errors.ts';

type Args<T> = T;

export const accountsResolvers = {
  Query: {
    me: (_: unknown, __: unknown, ctx: GraphQLContext) => {
      requireViewer(ctx);
      return ctx.clients.accounts.me.query();
    },
  },
  Mutation: {
    requestEmailCode: (_: unknown, args: Args<{ email: string }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.requestEmailCode.mutate(args),
    register: (_: unknown, args: Args<{ input: { username: string; email: string; password: string; code: string } }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.register.mutate(args.input),
    login: (_: unknown, args: Args<{ username: string; password: string }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.login.mutate(args),
    refreshToken: (_: unknown, args: Args<{ refreshToken: string }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.refreshToken.mutate(args),
    logout: (_: unknown, args: Args<{ refreshToken: string }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.logout.mutate(args),
    logoutAll: (_: unknown, __: unknown, ctx: GraphQLContext) => {
      requireViewer(ctx);
      return ctx.clients.accounts.logoutAll.mutate();
    },
    changePassword: (_: unknown, args: Args<{ oldPassword: string; newPassword: string }>, ctx: GraphQLContext) => {
      requireViewer(ctx);
      return ctx.clients.accounts.changePassword.mutate(args);
    },
    requestPasswordReset: (_: unknown, args: Args<{ email: string }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.requestPasswordReset.mutate(args),
    resetPassword: (_: unknown, args: Args<{ email: string; code: string; newPassword: string }>, ctx: GraphQLContext) =>
      ctx.clients.accounts.resetPassword.mutate(args),
    refreshConnection: (_: unknown, args: Args<{ accessToken: string }>, ctx: GraphQLContext) => {
      requireViewer(ctx);
      if (!ctx.connection) {
        throw new AppError('BAD_INPUT', 'refreshConnection works over a graphql-ws connection only', { details: { reason: 'not_a_websocket' } });
      }
      return ctx.connection.refresh(args.accessToken);
    },
  },
  Subscription: {
    heartbeat: {
      subscribe: async function* (_: unknown, args: { intervalMs: number }, ctx: GraphQLContext) {
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
