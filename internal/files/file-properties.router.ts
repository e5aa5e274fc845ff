/** WebDAV dead properties as tRPC procedures (files.properties.*): parse with zod, call the service. */
import { z } from 'zod';
import { authedProcedure, router } from '../platform/rpc/trpc.ts';
import { MAX_PROPERTIES_PER_FILE, MAX_PROPERTY_NAME, type FilePropertiesService } from './file-properties.service.ts';

const Id = z.string().min(1).max(64);
const Key = { namespace: z.string().max(MAX_PROPERTY_NAME), name: z.string().min(1).max(MAX_PROPERTY_NAME) };
/** Bounded by the service (bytes of UTF-8); this only stops an absurd payload early. */
const Value = z.string().max(1024 * 1024);
const Change = z.discriminatedUnion('op', [
  z.object({ op: z.literal('set'), ...Key, value: Value }),
  z.object({ op: z.literal('remove'), ...Key }),
]);

export function filePropertiesRouter(service: FilePropertiesService) {
  return router({
    /** One call for a whole PROPFIND page. */
    forFiles: authedProcedure.input(z.object({ ids: z.array(Id).max(1000) })).query(({ ctx, input }) => service.forFiles(ctx.viewer, input.ids)),
    patch: authedProcedure
      .input(z.object({ fileId: Id, changes: z.array(Change).min(1).max(MAX_PROPERTIES_PER_FILE * 2) }))
      .mutation(({ ctx, input }) => service.patch(ctx.viewer, input.fileId, input.changes)),
    /** After a COPY: the copy's items get their originals' properties. */
    copySubtree: authedProcedure
      .input(z.object({ fromId: Id, toId: Id }))
      .mutation(({ ctx, input }) => service.copySubtree(ctx.viewer, input.fromId, input.toId)),
  });
}
