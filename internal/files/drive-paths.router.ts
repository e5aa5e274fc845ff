/** The drive by paths of names (WebDAV) as tRPC procedures: parse with zod, call DrivePaths. */
import { z } from 'zod';
import { authedProcedure, router } from '../platform/rpc/trpc.ts';
import type { DrivePaths } from './drive-paths.service.ts';
import { MAX_DEPTH, MAX_PAGE } from './files.service.ts';

const Id = z.string().min(1).max(64);
const Name = z.string().max(1024);

export function drivePathsRouter(paths: DrivePaths) {
  return router({
    resolve: authedProcedure
      .input(z.object({ names: z.array(Name).max(MAX_DEPTH + 1) }))
      .query(({ ctx, input }) => paths.resolve(ctx.viewer, input.names)),
    page: authedProcedure
      .input(z.object({ folderId: Id, first: z.number().int().min(1).max(MAX_PAGE), after: z.string().max(512).optional() }))
      .query(({ ctx, input }) => paths.page(ctx.viewer, input.folderId, input.first, input.after)),
    copyTo: authedProcedure
      .input(z.object({ id: Id, parentId: Id, name: Name, shallow: z.boolean() }))
      .mutation(({ ctx, input }) => paths.copyTo(ctx.viewer, input.id, input.parentId, input.name, input.shallow)),
    moveTo: authedProcedure
      .input(z.object({ id: Id, parentId: Id, name: Name }))
      .mutation(({ ctx, input }) => paths.moveTo(ctx.viewer, input.id, input.parentId, input.name)),
  });
}
