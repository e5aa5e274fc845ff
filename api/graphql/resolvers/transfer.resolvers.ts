/** Storage backends and transfer jobs in GraphQL (administrators only): thin calls to the transfer service. */
import { transferEvents, type TransferJobDto } from '../../../internal/transfer/index.ts';
import type { GraphQLContext } from '../context.ts';
import { asViewer, requireViewer } from '../context.ts';

type Ctx = GraphQLContext;
type Status = 'QUEUED' | 'RUNNING' | 'DONE' | 'FAILED';

export const transferResolvers = {
  Query: {
    storageBackends: async (_: unknown, __: unknown, ctx: Ctx) => {
      requireViewer(ctx);
      const backends = await ctx.clients.transfer.backends.query();
      return backends.map((b) => ({ ...b, state: b.state.toUpperCase() }));
    },
    transfers: async (_: unknown, args: { status?: Status | null; first?: number | null }, ctx: Ctx) => {
      requireViewer(ctx);
      const { counts, jobs } = await ctx.clients.transfer.list.query({ status: args.status ?? undefined, limit: args.first ?? 100 });
      return { counts: { queued: counts.QUEUED, running: counts.RUNNING, done: counts.DONE, failed: counts.FAILED }, jobs };
    },
  },
  TransferJob: {
    mode: (job: TransferJobDto) => job.mode.toUpperCase(),
  },
  Mutation: {
    retryTransfer: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.transfer.retry.mutate({ id: args.id });
    },
  },
  Subscription: {
    transferProgress: {
      subscribe: async function* (_: unknown, __: unknown, ctx: Ctx) {
        requireViewer(ctx);
        // FORBIDDEN for anyone but an administrator, decided by the service like every other call.
        await asViewer(ctx, () => ctx.clients.transfer.authorize.query());
        for await (const event of transferEvents(ctx.bytes.pubsub)) yield { transferProgress: event };
      },
    },
  },
};
