/** Storage backends and transfer jobs in GraphQL (administrators only): thin calls to the transfer service. */
import { transferEvents } from '../../../internal/transfer/index.ts';
import { asViewer, requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const transferResolvers: Resolvers = {
  Query: {
    storageBackends: async (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.transfer.backends.query();
    },
    transfers: async (_, args, ctx) => {
      requireViewer(ctx);
      const { counts, jobs } = await ctx.clients.transfer.list.query({ status: args.status ?? undefined, limit: args.first ?? 100 });
      return { counts: { queued: counts.QUEUED, running: counts.RUNNING, done: counts.DONE, failed: counts.FAILED }, jobs };
    },
  },
  // The services' lower-case values as schema.graphql's enum values: the one mapping of each.
  BackendState: { ACTIVE: 'active', DRAINING: 'draining', READONLY: 'readonly' },
  TransferMode: { MOVE: 'move', COPY: 'copy' },
  Mutation: {
    retryTransfer: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.transfer.retry.mutate({ id: args.id });
    },
  },
  Subscription: {
    transferProgress: {
      subscribe: async function* (_, __, ctx) {
        requireViewer(ctx);
        // FORBIDDEN for anyone but an administrator, decided by the service like every other call.
        await asViewer(ctx, () => ctx.clients.transfer.authorize.query());
        for await (const event of transferEvents(ctx.bytes.pubsub)) yield { transferProgress: event };
      },
    },
  },
};
