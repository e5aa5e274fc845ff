/** The files service as tRPC procedures: parse with zod, call the service. */
import { z } from 'zod';
import { authedProcedure, router } from '../platform/rpc/trpc.ts';
import { CONTENT_HASH_RE } from './content-hash.ts';
import { downloadLinksRouter } from './download-links.router.ts';
import { filePropertiesRouter } from './file-properties.router.ts';
import type { FilePropertiesService } from './file-properties.service.ts';
import { drivePathsRouter } from './drive-paths.router.ts';
import type { DrivePaths } from './drive-paths.service.ts';
import type { DownloadLinks } from './download-links.service.ts';
import { DIRECTIONS, ORDER_FIELDS } from './files.paging.ts';
import type { FilesService } from './files.service.ts';
import { sharesRouter } from './shares.router.ts';
import type { ActivityRouter } from '../activity/index.ts';
import { searchProcedure } from './search/search.router.ts';
import type { SearchService } from './search/search.service.ts';
import type { ThumbnailsRouter } from '../thumbnails/index.ts';
import { versionsRouter } from './versions/versions.router.ts';
import type { VersionsService } from './versions/versions.service.ts';
import type { SharesService } from './shares.service.ts';
import type { BatchCommits } from './batch-commit.service.ts';
import { batchCommitsRouter, StoredFile } from './batch-commit.router.ts';

const Id = z.string().min(1).max(64);
const Name = z.string().max(1024);
const PageInput = z.object({
  folderId: Id,
  first: z.number().int().min(0).max(500).default(50),
  after: z.string().max(512).optional(),
  orderBy: z
    .object({ field: z.enum(ORDER_FIELDS), direction: z.enum(DIRECTIONS) })
    .default({ field: 'NAME', direction: 'ASC' }),
});

export function filesRouter(service: FilesService, shares: SharesService, links: DownloadLinks, paths: DrivePaths, properties: FilePropertiesService, versions: VersionsService, search: SearchService, thumbnails: ThumbnailsRouter, activity: ActivityRouter, batch: BatchCommits) {
  return router({
    shares: sharesRouter(shares),
    batch: batchCommitsRouter(batch),
    activity,
    properties: filePropertiesRouter(properties),
    paths: drivePathsRouter(paths),
    downloadLinks: downloadLinksRouter(links),
    search: searchProcedure(search),
    thumbnails,
    versions: versionsRouter(versions),
    node: authedProcedure.input(z.object({ id: Id.nullable() })).query(({ ctx, input }) => service.node(ctx.viewer, input.id)),
    get: authedProcedure.input(z.object({ id: Id })).query(({ ctx, input }) => service.get(ctx.viewer, input.id)),
    getMany: authedProcedure.input(z.object({ ids: z.array(Id).max(1000) })).query(({ ctx, input }) => service.getMany(ctx.viewer, input.ids)),
    ancestors: authedProcedure.input(z.object({ id: Id })).query(({ ctx, input }) => service.ancestors(ctx.viewer, input.id)),
    children: authedProcedure.input(PageInput).query(({ ctx, input }) => service.children(ctx.viewer, input.folderId, input)),
    createFolder: authedProcedure
      .input(z.object({ parentId: Id.nullable(), name: Name }))
      .mutation(({ ctx, input }) => service.createFolder(ctx.viewer, input.parentId, input.name)),
    rename: authedProcedure.input(z.object({ id: Id, name: Name })).mutation(({ ctx, input }) => service.rename(ctx.viewer, input.id, input.name)),
    move: authedProcedure
      .input(z.object({ id: Id, parentId: Id.nullable() }))
      .mutation(({ ctx, input }) => service.move(ctx.viewer, input.id, input.parentId)),
    trash: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => service.trash(ctx.viewer, input.id)),
    listTrash: authedProcedure.query(({ ctx }) => service.listTrash(ctx.viewer)),
    restore: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => service.restore(ctx.viewer, input.id)),
    purge: authedProcedure.input(z.object({ id: Id })).mutation(({ ctx, input }) => service.purge(ctx.viewer, input.id)),
    /** Registration (accounts service), as the new person: their root folder and quota row. */
    provisionDrive: authedProcedure.mutation(({ ctx }) => service.provisionDrive(ctx.viewer)),
    quota: authedProcedure.query(({ ctx }) => service.quota(ctx.viewer)),
    assertFits: authedProcedure.input(z.object({ size: z.number().int().min(0) })).query(({ ctx, input }) => service.assertFits(ctx.viewer, input.size)),
    assertNameFree: authedProcedure
      .input(z.object({ parentId: Id.nullable(), name: Name }))
      .query(({ ctx, input }) => service.assertNameFree(ctx.viewer, input.parentId, input.name)),
    uploadTarget: authedProcedure
      .input(z.object({ parentId: Id.nullable(), name: Name }))
      .query(({ ctx, input }) => service.uploadTarget(ctx.viewer, input.parentId, input.name)),
    childByName: authedProcedure
      .input(z.object({ parentId: Id.nullable(), name: Name }))
      .query(({ ctx, input }) => service.childByName(ctx.viewer, input.parentId, input.name)),
    blobFor: authedProcedure
      .input(z.object({ contentHash: z.string().regex(CONTENT_HASH_RE), size: z.number().int().min(0) }))
      .query(({ input }) => service.blobFor(input.contentHash, input.size)),
    commitFile: authedProcedure
      .input(
        StoredFile.extend({
          id: z.string().uuid().optional(),
          parentId: Id.nullable(),
          replaces: Id.optional(),
          parentPath: z.string().max(4096).optional(),
          uploadLinkId: Id.nullish(),
          newVersion: z.boolean().optional(),
        }),
      )
      .mutation(({ ctx, input }) => service.commitFile(ctx.viewer, input)),
    content: authedProcedure.input(z.object({ id: Id })).query(({ ctx, input }) => service.content(ctx.viewer, input.id)),
  });
}

export type FilesRouter = ReturnType<typeof filesRouter>;
