/** Upload sessions in GraphQL: thin calls to the uploads service; chunk bytes through writeChunk. */
import type { FileUpload } from 'graphql-upload-minimal';
import { progressEvents, type UploadSessionDto } from '../../../internal/uploads/index.ts';
import { writeChunk } from '../../http/chunk-writer.ts';
import type { GraphQLContext } from '../context.ts';
import { asViewer, requireViewer } from '../context.ts';

type Ctx = GraphQLContext;
interface CreateInput {
  parentId?: string | null;
  name: string;
  size: number;
  contentHash?: string | null;
  chunkSize?: number | null;
  mimeType?: string | null;
  blockHashes?: string[] | null;
}

export const uploadsResolvers = {
  Query: {
    uploads: (_: unknown, __: unknown, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.list.query();
    },
    upload: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.get.query({ id: args.id });
    },
  },
  Quota: {
    reserved: async (_: unknown, __: unknown, ctx: Ctx) => (await ctx.clients.uploads.reserved.query()).bytes,
  },
  UploadSession: {
    file: (session: UploadSessionDto, _: unknown, ctx: Ctx) => (session.fileId ? ctx.loaders.file.load(session.fileId) : null),
  },
  Mutation: {
    createUpload: (_: unknown, args: { input: CreateInput }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.create.mutate({ ...args.input, parentId: args.input.parentId ?? null });
    },
    uploadChunk: async (_: unknown, args: { sessionId: string; index: number; chunk: Promise<FileUpload> }, ctx: Ctx) => {
      requireViewer(ctx);
      const upload = await args.chunk;
      await writeChunk(ctx.clients, ctx.bytes.storage, { sessionId: args.sessionId, index: args.index, body: upload.createReadStream(), length: null, digest: null });
      return ctx.clients.uploads.get.query({ id: args.sessionId });
    },
    pauseUpload: (_: unknown, args: { sessionId: string }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.pause.mutate({ id: args.sessionId });
    },
    resumeUpload: (_: unknown, args: { sessionId: string }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.resume.mutate({ id: args.sessionId });
    },
    cancelUpload: (_: unknown, args: { sessionId: string }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.cancel.mutate({ id: args.sessionId });
    },
    completeUpload: (_: unknown, args: { sessionId: string; name?: string | null; parentId?: string | null }, ctx: Ctx) => {
      requireViewer(ctx);
      // parentId given as null means the root; not given at all, the folder createUpload named.
      return ctx.clients.uploads.complete.mutate({ id: args.sessionId, name: args.name ?? undefined, parentId: 'parentId' in args ? (args.parentId ?? null) : undefined });
    },
    proveOwnership: (_: unknown, args: { sessionId: string; proofs: string[] }, ctx: Ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.prove.mutate({ id: args.sessionId, proofs: args.proofs });
    },
  },
  Subscription: {
    uploadProgress: {
      subscribe: async function* (_: unknown, args: { sessionId: string }, ctx: Ctx) {
        requireViewer(ctx);
        // Only the owner: reading the session first answers NOT_FOUND for anyone else.
        await asViewer(ctx, () => ctx.clients.uploads.progress.query({ id: args.sessionId }));
        const events = progressEvents(ctx.bytes.pubsub, args.sessionId, () => asViewer(ctx, () => ctx.clients.uploads.progress.query({ id: args.sessionId })));
        for await (const event of events) yield { uploadProgress: event };
      },
    },
  },
};
