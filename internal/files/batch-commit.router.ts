/** uploadFiles' two calls on the files service (batch-commit.service.ts) as tRPC procedures. */
import { z } from 'zod';
import { authedProcedure, router } from '../platform/rpc/trpc.ts';
import type { BatchCommits } from './batch-commit.service.ts';
import { CONTENT_HASH_RE } from './content-hash.ts';

/** The most files one uploadFiles request takes (its GraphQL multipart body has one part each). */
export const UPLOAD_FILES_MAX = 100;

const Id = z.string().min(1).max(64);
const Name = z.string().max(1024);
/** Stored bytes to record as a file of a folder: the fields commitFile and commitFiles share. */
export const StoredFile = z.object({
  name: Name,
  size: z.number().int().min(0),
  contentHash: z.string().regex(CONTENT_HASH_RE),
  mimeType: z.string().max(255).nullable(),
  backend: z.string().max(63),
  storageKey: z.string().max(512),
});

export function batchCommitsRouter(batch: BatchCommits) {
  return router({
    /** The folder, the quota and each name of a batch. */
    uploadTargets: authedProcedure
      .input(z.object({ parentId: Id.nullable(), names: z.array(Name).max(UPLOAD_FILES_MAX) }))
      .query(({ ctx, input }) => batch.uploadTargets(ctx.viewer, input.parentId, input.names)),
    /** The batch's stored files recorded in one transaction (all or nothing). */
    commitFiles: authedProcedure
      .input(z.object({ parentId: Id, parentPath: z.string().max(4096), files: z.array(StoredFile).max(UPLOAD_FILES_MAX) }))
      .mutation(({ ctx, input }) => batch.commitFiles(ctx.viewer, input)),
  });
}
