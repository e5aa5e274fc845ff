/** What every resolver receives. Built per request (HTTP) or per operation (graphql-ws). */
import { AppError } from '../../internal/platform/errors.ts';
import { runWithContext, type Viewer } from '../../internal/platform/request-context.ts';
import type { BlobWriter } from '../../internal/files/blob-writer.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { PubSub } from '../../internal/platform/kv/kv.ts';
import type { Clients } from '../clients.ts';
import { createLoaders, type Loaders } from './loaders.ts';

export interface GraphQLContext {
  requestId: string;
  viewer: Viewer | undefined;
  accessToken: string | undefined;
  clients: Clients;
  loaders: Loaders;
  /** Scheme, host and port links are built with (PUBLIC_URL, or the request's own). */
  origin: string;
  /** Byte paths of the gateway: the object stores and the writer of new blobs. */
  bytes: GatewayBytes;
}

export interface GatewayBytes {
  storage: StorageRouter;
  blobWriter: BlobWriter;
  /** Progress events of uploads, from every replica. */
  pubsub: PubSub;
}

export function makeContext(clients: Clients, bytes: GatewayBytes, fields: Omit<GraphQLContext, 'clients' | 'loaders' | 'bytes'>): GraphQLContext {
  return { ...fields, clients, bytes, loaders: createLoaders(clients) };
}

export function requireViewer(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return ctx.viewer;
}

/**
 * Runs service calls with the operation's identity. HTTP requests already run inside their
 * request context; subscription resolvers (graphql-ws) do not, and use this.
 */
export function asViewer<T>(ctx: GraphQLContext, fn: () => T): T {
  return runWithContext({ requestId: ctx.requestId, viewer: ctx.viewer, accessToken: ctx.accessToken }, fn);
}
