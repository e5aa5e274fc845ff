/** What every resolver receives. Built per request (HTTP) or per operation (graphql-ws). */
import { AppError } from '../../internal/platform/errors.ts';
import { runWithContext, type Viewer } from '../../internal/platform/request-context.ts';
import type { Clients } from '../clients.ts';

export interface GraphQLContext {
  requestId: string;
  viewer: Viewer | undefined;
  accessToken: string | undefined;
  clients: Clients;
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
