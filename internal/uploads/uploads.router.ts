/** The uploads service as tRPC procedures: parse with zod, call the services. */
import { z } from 'zod';
import { authedProcedure, router } from '../platform/rpc/trpc.ts';
import { CONTENT_HASH_RE } from '../files/content-hash.ts';
import type { ChunksService } from './chunks.service.ts';
import type { CompletionService } from './completion.service.ts';
import { MAX_BLOCK_HASHES } from './upload-plan.rules.ts';
import type { UploadsService } from './uploads.service.ts';
import { tusRouter } from './tus/tus.router.ts';
import type { TusService } from './tus/tus.service.ts';
import type { UploadLinksRouter } from './upload-links/upload-links.router.ts';
import { MEDIA_TYPE_MAX_LENGTH, MEDIA_TYPE_RE } from './media-type.rules.ts';

const Id = z.string().min(1).max(64);
const Hex64 = z.string().regex(CONTENT_HASH_RE, 'must be 64 lowercase hex characters (SHA-256)');
const Index = z.number().int().min(0).max(1_000_000);

export function uploadsRouter(uploads: UploadsService, chunks: ChunksService, completion: CompletionService, tus: TusService, links: UploadLinksRouter) {
  return router({
    // tus 1.0.0 uploads (api/http/tus) on these sessions: tus/tus.service.ts.
    tus: tusRouter(tus),
    // File-drop links (upload-links/upload-links.service.ts).
    links,
    create: authedProcedure
      .input(
        z.object({
          parentId: Id.nullable(),
          name: z.string().max(1024),
          size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
          contentHash: Hex64.nullish(),
          chunkSize: z.number().int().positive().max(2 ** 31).nullish(),
          mimeType: z.string().regex(MEDIA_TYPE_RE).max(MEDIA_TYPE_MAX_LENGTH).nullish(),
          // Checked by the service (count, form, combination) for a stable reason each.
          blockHashes: z.array(z.string().max(64)).max(MAX_BLOCK_HASHES + 1).nullish(),
          // A file drop's link (upload-links): the uploads service checks it belongs to the viewer.
          uploadLinkId: Id.nullish(),
          // What completing does when the name is taken (issue 22): FAIL, RENAME or NEW_VERSION.
          conflict: z.enum(['FAIL', 'RENAME', 'NEW_VERSION']).nullish(),
        }),
      )
      .mutation(({ ctx, input }) => uploads.create(ctx.viewer, input)),
    get: authedProcedure.input(z.object({ id: Id })).query(({ ctx, input }) => uploads.get(ctx.viewer, input.id)),
    list: authedProcedure.query(({ ctx }) => uploads.list(ctx.viewer)),
    reserved: authedProcedure.query(({ ctx }) => uploads.reserved(ctx.viewer)),
    oneRequestTarget: authedProcedure
      .input(z.object({ parentId: Id.nullable(), name: z.string().max(1024) }))
      .query(({ ctx, input }) => uploads.oneRequestTarget(ctx.viewer, input.parentId, input.name)),
    pause: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => uploads.pause(ctx.viewer, input.id)),
    resume: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => uploads.resume(ctx.viewer, input.id)),
    cancel: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => uploads.cancel(ctx.viewer, input.id)),
    complete: authedProcedure
      .input(z.object({ id: Id, name: z.string().max(1024).optional(), parentId: Id.nullable().optional() }))
      .mutation(({ ctx, input }) => completion.complete(ctx.viewer, input.id, { name: input.name, parentId: input.parentId })),
    prove: authedProcedure
      .input(z.object({ id: Id, proofs: z.array(z.string().max(128)).max(16) }))
      .mutation(({ ctx, input }) => completion.prove(ctx.viewer, input.id, input.proofs)),
    beginChunk: authedProcedure
      .input(z.object({ sessionId: Id, index: Index, length: z.number().int().min(0).nullable() }))
      .mutation(({ ctx, input }) => chunks.begin(ctx.viewer, input.sessionId, input.index, input.length)),
    recordChunk: authedProcedure
      .input(
        z.object({
          sessionId: Id,
          index: Index,
          lockToken: z.string().max(64),
          etag: z.string().max(256),
          size: z.number().int().min(0),
          digests: z.array(Hex64).max(64),
          streamed: z.number().int().min(0),
        }),
      )
      .mutation(({ ctx, input }) => chunks.record(ctx.viewer, input)),
    abortChunk: authedProcedure
      .input(z.object({ sessionId: Id, index: Index, lockToken: z.string().max(64), streamed: z.number().int().min(0), partWritten: z.boolean().optional() }))
      .mutation(({ ctx, input }) => chunks.abort(ctx.viewer, input)),
    chunkProgress: authedProcedure
      .input(z.object({ sessionId: Id, index: Index, lockToken: z.string().max(64), delta: z.number().int() }))
      .mutation(({ ctx, input }) => chunks.progress(ctx.viewer, input.sessionId, input.index, input.lockToken, input.delta)),
    progress: authedProcedure.input(z.object({ id: Id })).query(async ({ ctx, input }) => {
      return uploads.progress(ctx.viewer, input.id);
    }),
  });
}

export type UploadsRouter = ReturnType<typeof uploadsRouter>;
