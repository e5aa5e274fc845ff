/**
 * What every resolver receives, and the one place it is built for both transports: HTTP requests
 * (`httpContext`, Apollo) and graphql-ws operations (api/graphql/ws-server.ts) both go through
 * `identify` (credential → viewer) and `buildContext` (viewer → context), and every resolver of
 * the schema runs inside its context's request context (`bindResolvers`), which is where the
 * service clients read the caller's identity from. So no resolver depends on which transport
 * happened to set up AsyncLocalStorage before it ran.
 */
import type { Request } from 'express';
import { GraphQLError, isObjectType, type GraphQLField, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { bearerToken, type TokenSigner } from '../../internal/platform/auth/access-token.ts';
import { AppError } from '../../internal/platform/errors.ts';
import { currentContext, newRequestId, runWithContext, type RequestContext, type Viewer } from '../../internal/platform/request-context.ts';
import type { BlobWriter } from '../../internal/files/index.ts';
import type { StorageRouter } from '../../internal/storage/index.ts';
import type { PubSub } from '../../internal/platform/kv/kv.ts';
import type { Clients } from '../clients.ts';
import { requireScope, scopesOf, verifyCredential, type AuthDeps } from '../http/auth.ts';
import { createLoaders, type Loaders } from './loaders.ts';
import type { ConnectionAuth } from './ws-sessions.ts';
import type { UploadMeter } from '../../internal/platform/metrics.ts';

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
  /**
   * The request context (AsyncLocalStorage) every resolver of this operation runs in: service
   * calls take the viewer, access token, client address and read-your-writes flag from it.
   */
  request: RequestContext;
  /** The graphql-ws connection the operation came on (absent over HTTP): `refreshConnection`. */
  connection?: ConnectionAuth;
}

export interface GatewayBytes {
  storage: StorageRouter;
  blobWriter: BlobWriter;
  /** Progress events of uploads, from every replica. */
  pubsub: PubSub;
  /** The process's upload metrics (chunks, bytes, completions). */
  uploadMeter?: UploadMeter;
}

export interface ContextDeps {
  clients: Clients;
  bytes: GatewayBytes;
  tokens: TokenSigner;
  /** Base of the links Stratus hands out; default: the request's own origin. */
  publicUrl: string | undefined;
}

/**
 * Who is calling: a person whose access token verified (until `expiresAt`, ms), or nobody. An
 * identity from a personal access token can be `renew`ed: the token exchanged again for a fresh
 * access JWT (refused once the token is revoked or expired), so a graphql-ws connection signed in
 * with one lives as long as the token does.
 */
export type Identity =
  | { viewer: Viewer; accessToken: string; expiresAt: number; renew?: () => Promise<Identity> }
  | { viewer: undefined; accessToken: undefined; expiresAt?: undefined; renew?: undefined };
export const ANONYMOUS: Identity = { viewer: undefined, accessToken: undefined };

/**
 * The caller's identity from the token it presented: a session's access token or a personal access
 * token (api/http/auth.ts, the gateway's one authenticator). No token: anonymous (public
 * operations work, protected ones answer UNAUTHENTICATED). A token that does not verify is
 * refused (UNAUTHENTICATED), never served as anonymous: the client should refresh.
 */
export async function identify(deps: AuthDeps, token: string | undefined): Promise<Identity> {
  if (token === undefined) return ANONYMOUS;
  const verified = token ? await verifyCredential(deps, { kind: 'bearer', token }).catch(() => undefined) : undefined;
  if (!verified) throw new AppError('UNAUTHENTICATED', 'Invalid or expired access token');
  // A personal access token acts through the access JWT it was exchanged for.
  const renew = verified.via === 'token' && verified.accessToken !== token ? { renew: () => identify(deps, token) } : {};
  return { viewer: verified.viewer, accessToken: verified.accessToken, expiresAt: verified.expiresAt, ...renew };
}

/** The request's origin, from a Host header that looks like a host (anything else is ignored). */
export function originOf(publicUrl: string | undefined, protocol: string, host: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/$/, '');
  return host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(host) ? `${protocol}://${host}` : 'http://localhost';
}

export interface Caller {
  identity: Identity;
  /** The HTTP request's context, or a new one per graphql-ws operation. */
  request: RequestContext;
  protocol: string;
  host: string | undefined;
  connection?: ConnectionAuth;
}

/** The one context builder: HTTP and graphql-ws differ only in where the caller comes from. */
export function buildContext(deps: ContextDeps, caller: Caller): GraphQLContext {
  const { identity, request } = caller;
  if (identity.viewer) Object.assign(request, { viewer: identity.viewer, accessToken: identity.accessToken });
  return {
    requestId: request.requestId,
    viewer: identity.viewer,
    accessToken: identity.accessToken,
    origin: originOf(deps.publicUrl, caller.protocol, caller.host),
    clients: deps.clients,
    bytes: deps.bytes,
    loaders: createLoaders(deps.clients),
    request,
    ...(caller.connection ? { connection: caller.connection } : {}),
  };
}

/** Apollo's context function: the `Authorization: Bearer` header; a bad one is HTTP 401. */
export function httpContext(deps: ContextDeps) {
  return async ({ req }: { req: Request }): Promise<GraphQLContext> => {
    const header = req.headers.authorization;
    const identity = await identify(deps, header ? (bearerToken(header) ?? '') : undefined).catch((error: unknown) => {
      // RFC 6750 §3.1 invalid_token: 401, so a client knows to refresh instead of seeing a
      // half-empty answer.
      throw new GraphQLError(error instanceof AppError ? error.message : 'Invalid access token', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    });
    const request = currentContext() ?? { requestId: newRequestId(), ip: req.ip };
    return buildContext(deps, { identity, request, protocol: req.protocol, host: req.get('host') });
  };
}

export function requireViewer(ctx: GraphQLContext): Viewer {
  if (!ctx.viewer) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return ctx.viewer;
}

/** Runs service calls with the operation's identity (kept for callers outside a resolver). */
export function asViewer<T>(ctx: GraphQLContext, fn: () => T): T {
  return runWithContext(ctx.request, fn);
}

/**
 * Mutations a personal access token of scope READ may run: they end a credential (the refresh
 * token's login; the socket's own sign-in), never change the drive or the account.
 */
const READ_SCOPE_MUTATIONS = new Set(['logout', 'refreshConnection']);

/**
 * Makes every resolver of the schema (field `resolve` and subscription `subscribe`) run inside its
 * operation's request context. graphql-ws executes outside any HTTP request, so without this its
 * resolvers' service calls went out with no viewer and answered UNAUTHENTICATED. A subscription's
 * source stream is bound too: its body runs on each `next()`, called by the transport's loop.
 * Every mutation but READ_SCOPE_MUTATIONS needs the WRITE scope (FORBIDDEN token_scope for a READ
 * token; a session has every scope), on both transports.
 * Mutates the schema's field configs in place (call it once, on a schema built for the gateway).
 */
export function bindResolvers(schema: GraphQLSchema): GraphQLSchema {
  const mutation = schema.getMutationType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith('__')) continue;
    for (const field of Object.values(type.getFields())) bindField(field, type === mutation && !READ_SCOPE_MUTATIONS.has(field.name));
  }
  return schema;
}

function bindField(field: GraphQLField<unknown, GraphQLContext>, writes: boolean): void {
  const { resolve, subscribe } = field;
  if (resolve) field.resolve = inContext(writes ? needsWrite(resolve) : resolve);
  if (subscribe) {
    field.subscribe = inContext(async (source, args, ctx: GraphQLContext, info) => {
      const stream: unknown = await subscribe(source, args, ctx, info);
      return isAsyncIterable(stream) ? boundStream(stream, ctx.request) : stream;
    });
  }
}

function needsWrite(resolver: GraphQLFieldResolver<unknown, GraphQLContext>): GraphQLFieldResolver<unknown, GraphQLContext> {
  return (source, args, ctx, info) => {
    if (ctx.viewer) requireScope({ scopes: scopesOf(ctx.viewer) }, 'WRITE');
    return resolver(source, args, ctx, info);
  };
}

function inContext(resolver: GraphQLFieldResolver<unknown, GraphQLContext>): GraphQLFieldResolver<unknown, GraphQLContext> {
  return (source, args, ctx, info) => runWithContext(ctx.request, () => resolver(source, args, ctx, info));
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function boundStream<T>(stream: AsyncIterable<T>, request: RequestContext): AsyncIterableIterator<T> {
  const it = stream[Symbol.asyncIterator]();
  return {
    next: () => runWithContext(request, () => it.next()),
    return: (value?: unknown) => runWithContext(request, () => it.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined as never })),
    throw: (error?: unknown) => runWithContext(request, () => it.throw?.(error) ?? Promise.reject(error)),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
