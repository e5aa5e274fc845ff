/** Upload sessions in GraphQL: thin calls to the uploads service; chunk bytes through writeChunk. */
import { progressEvents } from '../../../internal/uploads/index.ts';
import { writeChunk } from '../../../internal/uploads/index.ts';
import { asViewer, requireViewer } from '../context.ts';
import type { Resolvers } from '../resolvers.generated.ts';

export const uploadsResolvers: Resolvers = {
  Query: {
    uploads: (_, __, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.list.query();
    },
    upload: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.get.query({ id: args.id });
    },
  },
  Quota: {
    reserved: async (_, __, ctx) => (await ctx.clients.uploads.reserved.query()).bytes,
  },
  UploadSession: {
    file: (session, _, ctx) => (session.fileId ? ctx.loaders.file.load(session.fileId) : null),
  },
  Mutation: {
    createUpload: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.create.mutate({ ...args.input, parentId: args.input.parentId ?? null });
    },
    uploadChunk: async (_, args, ctx) => {
      requireViewer(ctx);
      const upload = await args.chunk;
      await writeChunk(ctx.clients, ctx.bytes.storage, { sessionId: args.sessionId, index: args.index, body: upload.createReadStream(), length: null, digest: null }, ctx.bytes.uploadMeter);
      return ctx.clients.uploads.get.query({ id: args.sessionId });
    },
    pauseUpload: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.pause.mutate({ id: args.sessionId });
    },
    resumeUpload: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.resume.mutate({ id: args.sessionId });
    },
    cancelUpload: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.cancel.mutate({ id: args.sessionId });
    },
    completeUpload: (_, args, ctx) => {
      requireViewer(ctx);
      // parentId given as null means the root; not given at all, the folder createUpload named.
      return ctx.clients.uploads.complete.mutate({ id: args.sessionId, name: args.name ?? undefined, parentId: 'parentId' in args ? (args.parentId ?? null) : undefined });
    },
    proveOwnership: (_, args, ctx) => {
      requireViewer(ctx);
      return ctx.clients.uploads.prove.mutate({ id: args.sessionId, proofs: args.proofs });
    },
  },
  Subscription: {
    uploadProgress: {
      subscribe: async function* (_, args, ctx) {
        requireViewer(ctx);
        // Only the owner: reading the session first answers NOT_FOUND for anyone else.
        await asViewer(ctx, () => ctx.clients.uploads.progress.query({ id: args.sessionId }));
        const events = progressEvents(ctx.bytes.pubsub, args.sessionId, () => asViewer(ctx, () => ctx.clients.uploads.progress.query({ id: args.sessionId })));
        for await (const event of events) yield { uploadProgress: event };
      },
    },
  },
};
