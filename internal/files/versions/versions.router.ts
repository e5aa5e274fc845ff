/** Versions as tRPC procedures (files.versions.*): parse with zod, call the service. */
import { z } from 'zod';
import { authedProcedure, router } from '../../platform/rpc/trpc.ts';
import type { VersionsService } from './versions.service.ts';

const Id = z.string().min(1).max(64);
const Ref = z.object({ fileId: Id, versionId: Id });

export function versionsRouter(service: VersionsService) {
  return router({
    /** The versions of up to 1000 files of the viewer's (the gateway's DataLoader batches File.versions). */
    listMany: authedProcedure.input(z.object({ fileIds: z.array(Id).max(1000) })).query(({ ctx, input }) => service.listMany(ctx.viewer, input.fileIds)),
    content: authedProcedure.input(Ref).query(({ ctx, input }) => service.content(ctx.viewer, input.fileId, input.versionId)),
    restore: authedProcedure.input(Ref).mutation(({ ctx, input }) => service.restore(ctx.viewer, input.fileId, input.versionId)),
    delete: authedProcedure.input(Ref).mutation(({ ctx, input }) => service.delete(ctx.viewer, input.fileId, input.versionId)),
  });
}
