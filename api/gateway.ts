/**
 * The gateway process: Express 5 with Apollo Server 5 at /graphql, graphql-ws on the same port and
 * path, the byte endpoints, health, metrics and GraphiQL. It holds no domain logic: resolvers and
 * handlers call the internal services through their tRPC clients.
 */
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type Express } from 'express';
import { GraphQLError, type ASTVisitor, type GraphQLSchema, type ValidationContext } from 'graphql';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import type { Runtime } from '../internal/platform/runtime.ts';
import type { TokenSigner } from '../internal/platform/auth/access-token.ts';
import type { Logger } from '../internal/platform/logger.ts';
import type { Metrics } from '../internal/platform/metrics.ts';
import type { Clients } from './clients.ts';
import { bindResolvers, httpContext, type ContextDeps, type GatewayBytes, type GraphQLContext } from './graphql/context.ts';
import { graphqlWsServer } from './graphql/ws-server.ts';
import { BlobWriter, SPOOL_MAX_AGE_MS, UPLOAD_FILES_MAX } from '../internal/files/index.ts';
import type { StorageRouter } from '../internal/storage/index.ts';
import { requireBearer } from './http/auth.ts';
import { downloadRouter } from './http/download.handler.ts';
import { uploadRouter } from './http/upload.handler.ts';
import { webAppRouter } from './http/web-app.ts';
import { davRouter } from './dav/dav.router.ts';
import { tusRouter } from './http/tus/tus.handler.ts';
import { bearerPrincipal } from './http/tus/tus.principal.ts';
import { dropTusRouter } from './http/drop/drop.router.ts';
import { createLocks } from '../internal/locks/index.ts';
import { shareDownloadRouter } from './http/share-download.handler.ts';
import { thumbnailRouter } from './http/thumbnail.handler.ts';
import { versionDownloadRouter } from './http/version-download.handler.ts';
import type { KeyValueStore, PubSub } from '../internal/platform/kv/kv.ts';
import { MAX_CHUNK_SIZE } from '../internal/uploads/index.ts';
import { SIMPLE_UPLOAD_MAX } from './graphql/resolvers/files.resolvers.ts';
import { graphqlErrorFormatter } from './graphql/graphql.errors.ts';
import { BoundedApolloServer } from './graphql/bounded-apollo.ts';
import { costPlugin, stringifyWithCost } from './graphql/cost-report.ts';
import { DEFAULT_LIMITS, queryLimitsRule, type QueryLimits } from './graphql/limits.ts';
import { buildSchema } from './graphql/schema.ts';
import { httpErrorHandler } from './http/http.errors.ts';
import { graphqlMultipart } from './http/graphql-multipart.ts';
import { graphiqlRouter } from './http/graphiql.ts';
import { healthRouter } from './http/health.ts';
import { refreshCookieRouter } from './http/refresh-cookie.ts';
import { createAccessLog } from './http/access-log.ts';
import { requestContext } from './http/request-context.ts';
import { traceRequests } from './http/tracing.ts';
import { securityHeaders } from './http/security-headers.ts';
import { keepIdleConnections } from './http/keep-alive.ts';
import { loadSplicer, type Splicer } from '../internal/platform/splice.ts';

export interface GatewayOptions {
  clients: Clients;
  storage: StorageRouter;
  pubsub: PubSub;
  /** The shared key-value store (WebDAV locks live there, seen by every replica). */
  kv: KeyValueStore;
  tmpDir: string;
  tokens: TokenSigner;
  log: Logger;
  metrics: Metrics;
  readiness: Map<string, () => Promise<void>>;
  production: boolean;
  /** Base of the links Stratus hands out (share URLs); default: the request's own origin. */
  publicUrl?: string | undefined;
  /** METRICS_PORT is set: /metrics is served there (api/roles.ts), never on this routed port. */
  metricsElsewhere?: boolean;
  limits?: QueryLimits;
  /** Proxies (addresses, CIDR blocks) whose X-Forwarded-For is believed; none by default. */
  trustedProxies?: readonly string[];
  /** ACCESS_LOG_RATE: access-log lines a second before sampling (http/access-log.ts); default 100. */
  accessLogRate?: number;
  /** Moves big proxied downloads kernel to kernel (DOWNLOAD_SPLICE; null: streamed through the process). */
  splicer?: Splicer | null;
}

/** The gateway of a process, from its runtime: the same wiring in every mode; only the clients differ. */
export function startGateway(runtime: Runtime, clients: Clients): Promise<Gateway> {
  const { config } = runtime;
  return createGateway({
    clients,
    storage: runtime.storage,
    pubsub: runtime.pubsub,
    kv: runtime.kv,
    tmpDir: path.join(config.dataDir, 'tmp'),
    tokens: runtime.tokens,
    log: runtime.log,
    metrics: runtime.metrics,
    readiness: runtime.readiness,
    production: config.production,
    publicUrl: config.http.publicUrl,
    metricsElsewhere: config.metricsPort !== undefined,
    trustedProxies: config.trustedProxies,
    accessLogRate: config.accessLogRate,
    splicer: config.downloadSplice === 'auto' ? loadSplicer() : null,
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
  const { clients, tokens, log, metrics } = options;
  const bytes = gatewayBytes(options);
  // Every resolver runs in its operation's request context, whichever transport carried it.
  const schema: GraphQLSchema = bindResolvers(buildSchema());
  const limits = options.limits ?? DEFAULT_LIMITS;
  const limitsRule = queryLimitsRule(limits);
  const app = express();
  app.disable('x-powered-by');
  // req.ip (HTTP and the graphql-ws upgrade alike) is the TCP peer unless that peer is a proxy the
  // operator listed: X-Forwarded-For is then read right to left up to the first address that is
  // not a trusted proxy (RFC 7239 §5.2 spirit; express/proxy-addr). Any other sender could name
  // itself any address and walk around every per-address limit. X-Real-IP is never read.
  const trusted = options.trustedProxies ?? [];
  app.set('trust proxy', trusted.length > 0 ? [...trusted] : false);
  const server = keepIdleConnections(createServer(app));
  let shuttingDown = false;

  const formatError = graphqlErrorFormatter(log, metrics);
  const formatAll = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));

  // graphql-ws on the same port and path: every operation, with the connection's identity.
  const contextDeps: ContextDeps = { clients, bytes, tokens, publicUrl: options.publicUrl };
  const wsCleanup = graphqlWsServer({ server, app, schema, rules: [limitsRule], limits, production: options.production, deps: contextDeps, formatErrors: formatAll });
  const apollo = apolloServer({ schema, limits, limitsRule, server, formatError, production: options.production, drain: () => wsCleanup.dispose() });
  await apollo.start();
  mountRoutes(app, options, apollo, contextDeps, () => shuttingDown);

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

/** Where uploaded bytes go; spooled uploadFile bodies a crashed process left are cleaned now, then hourly. */
function gatewayBytes({ storage, pubsub, tmpDir, log, metrics }: GatewayOptions): GatewayBytes {
  const bytes: GatewayBytes = {
    storage,
    pubsub,
    uploadMeter: metrics.uploads,
    blobWriter: new BlobWriter({ tmpDir, defaultBackend: () => storage.defaultBackend() }),
  };
  const sweepSpool = () => void bytes.blobWriter.sweep().catch((error: unknown) => log.warn({ err: error }, 'cleaning spooled bodies failed'));
  sweepSpool();
  setInterval(sweepSpool, SPOOL_MAX_AGE_MS).unref();
  return bytes;
}

interface ApolloSetup {
  schema: GraphQLSchema;
  limits: QueryLimits;
  limitsRule: ReturnType<typeof queryLimitsRule>;
  server: Server;
  formatError: ReturnType<typeof graphqlErrorFormatter>;
  production: boolean;
  /** Closes the graphql-ws server when Apollo drains. */
  drain: () => Promise<void> | void;
}

/**
 * Documents over the token/field/depth/alias bounds are refused before Apollo parses and
 * validates them (graphql/bounded-apollo.ts); the cost is priced per request with its variables.
 */
function apolloServer({ schema, limits, limitsRule, server, formatError, production, drain }: ApolloSetup): BoundedApolloServer<GraphQLContext> {
  return new BoundedApolloServer<GraphQLContext>({
    schema,
    parseOptions: { maxLexicalTokens: limits.maxTokens },
    stringifyResult: stringifyWithCost(limits),
    introspection: !production,
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
      // No per-field cache-hint hooks: Stratus sets no cache hints (every answer is one person's),
      // and Apollo's default cache-control plugin wraps each resolved field to collect them.
      ApolloServerPluginCacheControlDisabled(),
      // On SIGTERM: stop accepting, let requests in flight (a chunk PUT) finish for up to 30 s.
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: 30_000 }),
      costPlugin<GraphQLContext>(limits),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              await drain();
            },
          };
        },
      },
    ],
  }, { limits, formatError });
}

/** The HTTP routes, in order: the first that answers wins. */
function mountRoutes(app: Express, options: GatewayOptions, apollo: BoundedApolloServer<GraphQLContext>, contextDeps: ContextDeps, shuttingDown: () => boolean): void {
  const { clients, log, metrics, storage } = options;
  app.use(requestContext(createAccessLog(log, { ratePerSecond: options.accessLogRate ?? 100 }), metrics));
  // The request's SERVER span, the child of the client's traceparent (http/tracing.ts).
  app.use(traceRequests());
  // nosniff, Referrer-Policy and a deny-all CSP on every answer; pages set their own CSP.
  app.use(securityHeaders());
  app.use(healthRouter(options.readiness, shuttingDown));
  if (!options.metricsElsewhere) {
    app.get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }
  app.use(graphiqlRouter());
  // GraphQL ahead of the byte routes (no path of theirs starts with /graphql): otherwise every API
  // request is matched against each download, upload, tus and WebDAV route before it reaches Apollo.
  app.use(
    '/graphql',
    express.json({ limit: '1mb' }),
    // GraphQL multipart requests (uploadFile, uploadChunk): file streams are handed to resolvers
    // as they arrive; nothing is buffered. See http/graphql-multipart.ts for how a malformed body
    // is refused and why an answer waits for the body's verdict.
    graphqlMultipart({
      apollo,
      context: httpContext(contextDeps),
      limits: { maxFieldBytes: 100_000, maxFileBytes: Math.max(SIMPLE_UPLOAD_MAX, MAX_CHUNK_SIZE), maxFiles: UPLOAD_FILES_MAX },
    }),
    expressMiddleware(apollo, { context: httpContext(contextDeps) }),
  );
  const downloading = { meter: metrics.downloads, splicer: options.splicer ?? null };
  app.use(downloadRouter(clients, storage, log, requireBearer(contextDeps), downloading));
  app.use(versionDownloadRouter(clients, storage, log, requireBearer(contextDeps), downloading));
  app.use(thumbnailRouter(clients, storage, log, requireBearer(contextDeps)));
  // A chunk PUT writes: a personal access token needs the WRITE scope (FORBIDDEN token_scope).
  app.use(uploadRouter(clients, storage, requireBearer(contextDeps, 'WRITE'), metrics.uploads));
  app.use(shareDownloadRouter(clients, storage, log, downloading));
  // WebDAV (RFC 4918 class 1 and 2): the person's drive at /dav/, Basic auth with access tokens.
  app.use('/dav', davRouter({ ...contextDeps, storage, log, locks: createLocks(options.kv), uploadMeter: metrics.uploads, downloadMeter: metrics.downloads, splicer: downloading.splicer }));
  // tus 1.0.0 at /tus/ (Bearer: access token or personal access token; writes need WRITE).
  app.use('/tus', tusRouter({ clients, storage, log, uploadMeter: metrics.uploads }, { resolve: bearerPrincipal(contextDeps), writeScope: true }));
  // File drop: the same tus for anyone with an upload link, as the link's owner into its folder (http/drop).
  app.use('/drop/:token/tus', dropTusRouter({ clients, storage, log, tokens: contextDeps.tokens, uploadMeter: metrics.uploads }));
  // The web app's refresh token, in an HttpOnly cookie of /auth (http/refresh-cookie.ts).
  app.use(refreshCookieRouter(clients));
  // The web app last: its SPA fallback answers only the GETs no route above took.
  app.use(webAppRouter());
  app.use(httpErrorHandler(log));
}
