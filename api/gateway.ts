/**
 * The gateway process: Express 5 with Apollo Server 5 at /graphql, graphql-ws on the same port and
 * path, the byte endpoints, health, metrics and GraphiQL. It holds no domain logic: resolvers and
 * handlers call the internal services through their tRPC clients.
 */
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { GraphQLError, specifiedRules, validate, type ASTVisitor, type GraphQLSchema, type ValidationContext } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Runtime } from '../internal/platform/runtime.ts';
import { WebSocketServer } from 'ws';
import { bearerToken, type TokenSigner } from '../internal/platform/auth/access-token.ts';
import { AppError } from '../internal/platform/errors.ts';
import type { Logger } from '../internal/platform/logger.ts';
import type { Metrics } from '../internal/platform/metrics.ts';
import { currentContext, newRequestId, type Viewer } from '../internal/platform/request-context.ts';
import type { Clients } from './clients.ts';
import { makeContext, type GatewayBytes, type GraphQLContext } from './graphql/context.ts';
import { BlobWriter } from '../internal/files/blob-writer.ts';
import type { StorageRouter } from '../internal/storage/index.ts';
import { processRequest } from 'graphql-upload-minimal';
import { requireBearer } from './http/auth.ts';
import { downloadRouter } from './http/download.handler.ts';
import { uploadRouter } from './http/upload.handler.ts';
import { webAppRouter } from './http/web-app.ts';
import { shareDownloadRouter } from './http/share-download.handler.ts';
import type { PubSub } from '../internal/platform/kv/kv.ts';
import { MAX_CHUNK_SIZE } from '../internal/uploads/upload-plan.ts';
import { SIMPLE_UPLOAD_MAX } from './graphql/resolvers/files.resolvers.ts';
import { graphqlErrorFormatter } from './graphql/errors.ts';
import { DEFAULT_LIMITS, queryLimitsRule, type QueryLimits } from './graphql/limits.ts';
import { buildSchema } from './graphql/schema.ts';
import { httpErrorHandler } from './http/errors.ts';
import { graphiqlRouter } from './http/graphiql.ts';
import { healthRouter } from './http/health.ts';
import { requestContext } from './http/request-context.ts';

export interface GatewayOptions {
  clients: Clients;
  storage: StorageRouter;
  pubsub: PubSub;
  tmpDir: string;
  tokens: TokenSigner;
  log: Logger;
  metrics: Metrics;
  readiness: Map<string, () => Promise<void>>;
  production: boolean;
  /** Base of the links Stratus hands out (share URLs); default: the request's own origin. */
  publicUrl?: string | undefined;
  limits?: QueryLimits;
}

/** The request's origin, from a Host header that looks like a host (anything else is ignored). */
function originOf(publicUrl: string | undefined, protocol: string, host: string | undefined): string {
  if (publicUrl) return publicUrl.replace(/\/$/, '');
  return host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i.test(host) ? `${protocol}://${host}` : 'http://localhost';
}

/** The gateway of a process, from its runtime: the same wiring in every mode; only the clients differ. */
export function startGateway(runtime: Runtime, clients: Clients): Promise<Gateway> {
  const { config } = runtime;
  return createGateway({
    clients,
    storage: runtime.storage,
    pubsub: runtime.pubsub,
    tmpDir: path.join(config.dataDir, 'tmp'),
    tokens: runtime.tokens,
    log: runtime.log,
    metrics: runtime.metrics,
    readiness: runtime.readiness,
    production: config.production,
    publicUrl: config.http.publicUrl,
  });
}

/** Validation rule (HTTP only): a subscription operation is BAD_INPUT; use graphql-ws on the same path. */
function noSubscriptionsOverHttp(context: ValidationContext): ASTVisitor {
  return {
    OperationDefinition(node) {
      if (node.operation === 'subscription') {
        context.reportError(new GraphQLError('Subscriptions need a WebSocket (graphql-ws) connection to /graphql', { nodes: [node], extensions: { code: 'BAD_INPUT', details: { reason: 'subscription_over_http' } } }));
      }
    },
  };
}

export interface Gateway {
  app: Express;
  server: Server;
  listen(port: number, host?: string): Promise<number>;
  close(): Promise<void>;
}

export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const { clients, tokens, log, metrics, storage } = options;
  const bytes: GatewayBytes = {
    storage,
    pubsub: options.pubsub,
    blobWriter: new BlobWriter({ tmpDir: options.tmpDir, defaultBackend: () => storage.defaultBackend() }),
  };
  const schema: GraphQLSchema = buildSchema();
  const limitsRule = queryLimitsRule(options.limits ?? DEFAULT_LIMITS);
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback, linklocal, uniquelocal');
  const server = createServer(app);
  let shuttingDown = false;

  const formatError = graphqlErrorFormatter(log, metrics);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));

  // graphql-ws shares the HTTP server and the /graphql path. Every subscription needs a signed-in
  // connection: `connectionParams.authorization` ("Bearer <token>" or the bare token) is checked
  // in onConnect, and a connection without a valid one is closed with 4403 Forbidden.
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const wsCleanup = useServer<Record<string, unknown>, { viewer?: Viewer; token?: string }>(
    {
      schema,
      validate: (schema, document) => validate(schema, document, [...specifiedRules, limitsRule]),
      // The same error mapping as over HTTP: every error leaves with a code of the union.
      onError: (_ctx, _id, _payload, errors) => formatAll(errors),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatAll(result.errors) } : undefined),
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization;
        const token = typeof raw === 'string' ? (bearerToken(raw) ?? raw) : undefined;
        if (!token) return false;
        try {
          ctx.extra.viewer = await tokens.verifyAccess(token);
          ctx.extra.token = token;
          return true;
        } catch {
          return false;
        }
      },
      // Subscriptions run outside any HTTP request, so the identity for service calls travels in
      // the context (see `asViewer` in graphql/context.ts).
      context: (ctx): GraphQLContext =>
        makeContext(clients, bytes, {
          requestId: newRequestId(),
          viewer: ctx.extra.viewer,
          accessToken: ctx.extra.token,
          origin: originOf(options.publicUrl, 'http', ctx.extra.request.headers.host),
        }),
    },
    wss,
  );

  const apollo = new ApolloServer<GraphQLContext>({
    schema,
    introspection: !options.production,
    csrfPrevention: true,
    allowBatchedHttpRequests: false,
    // The process owns its shutdown (drain, then close dependencies); Apollo must not race it.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    // Subscriptions run over graphql-ws only: over HTTP they would execute like a query with no
    // resolver behind the field and fail as INTERNAL, so refuse them as bad input up front.
    validationRules: [limitsRule, noSubscriptionsOverHttp],
    formatError,
    plugins: [
      // On SIGTERM: stop accepting, let requests in flight (a chunk PUT) finish for up to 30 s.
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: 30_000 }),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await wsCleanup.dispose();
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  app.use(requestContext(log, metrics));
  app.use(healthRouter(options.readiness, () => shuttingDown));
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use(graphiqlRouter());
  app.use(downloadRouter(clients, storage, log, requireBearer(tokens)));
  app.use(uploadRouter(clients, storage, requireBearer(tokens)));
  app.use(shareDownloadRouter(clients, storage, log));
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    // GraphQL multipart requests (uploadFile, uploadChunk): file streams are handed to resolvers
    // as they arrive; nothing is buffered here. Apollo's CSRF prevention requires the
    // `apollo-require-preflight` header on them.
    async (req, res, next) => {
      if (!req.is('multipart/form-data')) return next();
      if (!req.headers['apollo-require-preflight'] && !req.headers['x-apollo-operation-name']) {
        return next(new AppError('BAD_INPUT', 'Multipart requests need the header apollo-require-preflight: true', { details: { reason: 'csrf' } }));
      }
      try {
        req.body = await processRequest(req, res, { maxFileSize: Math.max(SIMPLE_UPLOAD_MAX, MAX_CHUNK_SIZE) + 1, maxFiles: 1, maxFieldSize: 100_000 });
        next();
      } catch (error) {
        next(new AppError('BAD_INPUT', 'Malformed multipart request', { cause: error }));
      }
    },
    expressMiddleware(apollo, {
      context: async ({ req }) => {
        const rc = currentContext();
        const requestId = rc?.requestId ?? newRequestId();
        const origin = originOf(options.publicUrl, req.protocol, req.get('host'));
        const header = req.headers.authorization;
        if (!header) return makeContext(clients, bytes, { requestId, viewer: undefined, accessToken: undefined, origin });
        const token = bearerToken(header);
        // A credential that does not verify is refused outright (401) rather than treated as
        // anonymous, so a client knows to refresh instead of seeing a half-empty answer.
        const viewer = token ? await tokens.verifyAccess(token).catch(() => undefined) : undefined;
        if (!viewer || !token) {
          throw new GraphQLError('Invalid or expired access token', {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
          });
        }
        if (rc) Object.assign(rc, { viewer, accessToken: token });
        return makeContext(clients, bytes, { requestId, viewer, accessToken: token, origin });
      },
    }),
  );
  // The web app last: its SPA fallback answers only the GETs no route above took.
  app.use(webAppRouter());
  app.use(httpErrorHandler(log));

  return {
    app,
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const address = server.address();
          resolve(typeof address === 'object' && address ? address.port : port);
        });
      }),
    close: async () => {
      shuttingDown = true;
      await apollo.stop();
    },
  };
}
