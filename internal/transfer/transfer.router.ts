/** The transfer service as tRPC procedures, administrators only: parse with zod, call the service. */
import { z } from 'zod';
import { adminProcedure, router } from '../platform/rpc/trpc.ts';
import { TRANSFER_STATUSES } from './transfer.entities.ts';
import type { TransferService } from './transfer.service.ts';

export function transferRouter(service: TransferService) {
  return router({
    backends: adminProcedure.query(() => service.backends()),
    list: adminProcedure
      .input(z.object({ status: z.enum(TRANSFER_STATUSES).optional(), limit: z.number().int().min(1).max(500).default(100) }))
      .query(({ input }) => service.list(input.status, input.limit)),
    retry: adminProcedure.input(z.object({ id: z.string().min(1).max(36) })).mutation(({ input, ctx }) => service.retry(input.id, ctx.viewer)),
    /** For subscriptions: answers only for admins, so the gateway can authorize before listening. */
    authorize: adminProcedure.query(() => true),
  });
}

export type TransferRouter = ReturnType<typeof transferRouter>;
