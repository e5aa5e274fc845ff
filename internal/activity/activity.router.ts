/** The activity log as tRPC procedures (`files.activity.*`): parse input, call the service. */
import { z } from 'zod';
import { adminProcedure, authedProcedure, router } from '../platform/rpc/trpc.ts';
import type { ActivityService } from './activity.service.ts';

// The bounds themselves are the service's (BAD_INPUT page_size names the field); zod only keeps
// the input's shape and sizes sane.
const Page = { first: z.number().int().default(50), after: z.string().max(512).optional() };

export function activityRouter(service: ActivityService) {
  return router({
    list: authedProcedure
      .input(z.object({ ...Page, fileId: z.string().min(1).max(64).nullish() }))
      .query(({ ctx, input }) => service.list(ctx.viewer, input, input.fileId)),
    audit: adminProcedure.input(z.object(Page)).query(({ ctx, input }) => service.auditLog(ctx.viewer, input)),
  });
}

export type ActivityRouter = ReturnType<typeof activityRouter>;
