/** Files and folders in GraphQL: thin calls to the files service; uploadFile's and uploadFiles' bytes through the uploads writers. */
import { AppError } from '../../../internal/platform/errors.ts';
import { writeBatchUpload, writeSimpleUpload } from '../../../internal/uploads/index.ts';
import { isMultipartError } from '../../http/multipart-errors.ts';
import { requireViewer } from '../context.ts';
import type { FileOrder, Resolvers } from '../resolvers.generated.ts';

/** Largest file `uploadFile` takes in one request; larger files use upload sessions (createUpload). */
export const SIMPLE_UPLOAD_MAX = 256 * 1024 * 1024;
const PRESIGN_SECONDS = 300;

/** schema.graphql's default of `children(orderBy:)`, for callers that pass no order at all. */
export const DEFAULT_ORDER: FileOrder = { field: 'NAME', direction: 'ASC' };

const emptyConnection = { edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 };

export const filesResolvers: Resolvers = {
  Query: {
    folder: async (_, args, ctx) => {
      requireViewer(ctx);
      const node = await ctx.clients.files.node.query({ id: args.id ?? null });
      if (!node.isFolder) throw new AppError('BAD_INPUT', 'That is a file, not a folder', { details: { field: 'id', reason: 'not_a_folder' } });
      return node;
    },
    file: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.get.query({ id: args.id });
    },
    trash: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.listTrash.query();
    },
    downloadUrl: async (_, args, ctx) => {
      requireViewer(ctx);
      const { file, blob } = await ctx.clients.files.content.query({ id: args.id });
      const url = await ctx.bytes.storage.store(blob.backend).presignGet(blob.storageKey, {
        expiresInSeconds: PRESIGN_SECONDS,
        downloadName: file.name,
        contentType: file.mimeType ?? 'application/octet-stream',
      });
      return url ? { url, expiresAt: new Date(Date.now() + PRESIGN_SECONDS * 1000) } : null;
    },
  },
  User: {
    quota: (_user, _, ctx) => ctx.clients.files.quota.query(),
  },
  File: {
    parent: (file, _, ctx) => (file.parentId ? ctx.loaders.file.load(file.parentId) : null),
    ancestors: (file, _, ctx) => ctx.clients.files.ancestors.query({ id: file.id }),
    children: (file, args, ctx) => {
      if (!file.isFolder) return emptyConnection;
      return ctx.clients.files.children.query({
        folderId: file.id,
        first: args.first ?? 50,
        after: args.after ?? undefined,
        orderBy: args.orderBy ?? DEFAULT_ORDER,
      });
    },
  },
  Mutation: {
    createFolder: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.createFolder.mutate({ parentId: args.parentId ?? null, name: args.name });
    },
    renameFile: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.rename.mutate(args);
    },
    moveFile: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.move.mutate({ id: args.id, parentId: args.parentId ?? null });
    },
    deleteFile: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.trash.mutate(args);
    },
    restoreFile: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.restore.mutate(args);
    },
    purgeFile: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.files.purge.mutate(args);
    },
    createDownloadLink: async (_, args, ctx) => {
      requireViewer(ctx);
      const versionId = args.versionId ?? undefined;
      const { sig, expiresAt } = await ctx.clients.files.downloadLinks.create.mutate({ id: args.id, ...(versionId === undefined ? {} : { versionId }) });
      const path = `/files/${encodeURIComponent(args.id)}${versionId === undefined ? '' : `/versions/${encodeURIComponent(versionId)}`}/content`;
      return { url: `${ctx.origin}${path}?sig=${encodeURIComponent(sig)}`, expiresAt };
    },
    uploadFile: async (_, args, ctx) => {
      requireViewer(ctx);
      const upload = await args.file;
      return writeSimpleUpload(
        { clients: ctx.clients, storage: ctx.bytes.storage, blobWriter: ctx.bytes.blobWriter, meter: ctx.bytes.uploadMeter },
        {
          parentId: args.parentId ?? null, name: upload.filename, mimeType: upload.mimetype, body: upload.createReadStream(), size: args.size ?? null,
          // Absent and null differ: null is "no type known" (GraphQL keeps an explicit null).
          ...(args.mimeType === undefined ? {} : { declaredType: args.mimeType }),
          limit: { bytes: SIMPLE_UPLOAD_MAX, operation: 'uploadFile' }, conflict: args.conflict ?? 'FAIL',
        },
      );
    },
    uploadFiles: async (_, args, ctx) => {
      requireViewer(ctx);
      const outcomes = await writeBatchUpload(
        { clients: ctx.clients, storage: ctx.bytes.storage, blobWriter: ctx.bytes.blobWriter, meter: ctx.bytes.uploadMeter },
        {
          parentId: args.parentId ?? null,
          // Absent and null differ for mimeType (GraphQL keeps an explicit null in an input object too).
          files: args.files.map((f) => ({ part: f.file, size: f.size, name: f.name ?? null, ...(f.mimeType === undefined ? {} : { declaredType: f.mimeType }) })),
          conflict: args.conflict ?? 'FAIL', limit: { bytes: SIMPLE_UPLOAD_MAX, operation: 'uploadFiles' }, bodyFailure: isMultipartError,
        },
      );
      return outcomes.map((o) => ({
        name: o.name, file: o.file,
        error: o.error ? { code: o.error.code, message: o.error.message, field: o.error.details?.field ?? null, reason: o.error.details?.reason ?? null } : null,
      }));
    },
  },
};
