/**
 * graphql-ws (the graphql-transport-ws protocol) on the HTTP server's /graphql path: queries,
 * mutations and subscriptions, each run with the identity its connection signed in with.
 *
 * - Sign-in is per connection: `connectionParams.authorization` ("Bearer <token>" or the bare
 *   token), checked once in ConnectionInit. None: an anonymous connection, served like an HTTP
 *   request without `Authorization` (protected fields answer UNAUTHENTICATED). One that does not
 *   verify: the socket is closed with 4403 Forbidden (the protocol's answer to a refused
 *   ConnectionInit), as HTTP answers 401.
 * - A connection does not outlive its token (ws-sessions.ts): closed with 4403 when it expires
 *   (unless `refreshConnection` gave it a fresh one) or when its login ends anywhere; every
 *   operation re-checks the token first.
 * - Every operation's context comes from `buildContext`, the builder HTTP uses too.
 * - Parse and validation run here (onSubscribe) so a malformed operation is answered with an
 *   Error message for that operation id (BAD_INPUT) instead of closing the whole socket; the rules
 *   are HTTP's: graphql-js's specified rules, the query limits, and in production no
 *   introspection (Apollo's `introspection: false` covers HTTP only).
 */
import type { Express, Request } from 'express';
import {
  GraphQLError,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  type ExecutionArgs,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { bearerToken } from '../../internal/platform/auth/access-token.ts';
import { newRequestId } from '../../internal/platform/request-context.ts';
import type { QueryLimits } from './limits.ts';
import { WsCosts } from './ws-cost.ts';
import { buildContext, identify, type ContextDeps, type GraphQLContext, type Identity } from './context.ts';
import { WsSessions, type WsConnection } from './ws-sessions.ts';

export interface WsServerOptions {
  server: Server;
  /** The Express app: the upgrade request's address, scheme and host follow its `trust proxy`. */
  app: Express;
  schema: GraphQLSchema;
  /** Validation rules beyond graphql-js's specified ones (the query limits). */
  rules: readonly ValidationRule[];
  /** Document bounds and the cost limit, checked as over HTTP (ws-cost.ts). */
  limits: QueryLimits;
  production: boolean;
  deps: ContextDeps;
  /** The gateway's error mapping: every error leaves with a code of the AppError union. */
  formatErrors: (errors: readonly GraphQLError[]) => GraphQLFormattedError[];
}

type Extra = Record<PropertyKey, unknown> & { identity?: Identity; conn?: WsConnection };

/** The token of `connectionParams.authorization`; undefined when none was sent. */
function connectionToken(params: Readonly<Record<string, unknown>> | undefined): string | undefined {
  const raw = params?.authorization;
  if (raw === undefined || raw === null || raw === '') return undefined;
  return typeof raw === 'string' ? (bearerToken(raw) ?? raw) : '';
}

/** The upgrade request seen as Express sees HTTP requests (req.ip, req.protocol, req.get). */
function asExpressRequest(app: Express, req: IncomingMessage): Request {
  return Object.assign(Object.create(app.request) as Request, { headers: req.headers, socket: req.socket });
}

export function graphqlWsServer(options: WsServerOptions): { dispose(): void | Promise<void> } {
  const { schema, deps, formatErrors } = options;
  const rules = [...specifiedRules, ...(options.production ? [NoSchemaIntrospectionCustomRule] : []), ...options.rules];
  const costs = new WsCosts(schema, rules, options.limits);
  const wss = new WebSocketServer({ server: options.server, path: '/graphql' });
  const sessions = new WsSessions(deps.tokens);
  // Without the subscription, logouts still refuse the next operation (each one re-checks).
  const started = sessions.start().catch(() => undefined);
  const server = useServer<Record<string, unknown>, Extra>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          const identity = await identify(deps, connectionToken(ctx.connectionParams));
          ctx.extra.identity = identity;
          ctx.extra.conn = sessions.open(ctx.extra.socket, identity);
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: async (ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> => {
        if (ctx.extra.conn && !(await ctx.extra.conn.check())) {
          return [new GraphQLError('The access token expired or its login ended', { extensions: { code: 'UNAUTHENTICATED' } })];
        }
        // The document bounds, validation and the price with these variables (ws-cost.ts).
        return costs.prepare(ctx.extra, id, payload);
      },
      context: (ctx, id): GraphQLContext => {
        const req = asExpressRequest(options.app, ctx.extra.request);
        const conn = ctx.extra.conn;
        const request = { requestId: newRequestId(), ...(req.ip ? { ip: req.ip } : {}) };
        // A refreshed token reaches the operations under way too (their service calls send it).
        conn?.operations.set(id, request);
        return buildContext(deps, {
          identity: conn?.identity ?? ctx.extra.identity ?? { viewer: undefined, accessToken: undefined },
          request,
          protocol: req.protocol,
          host: req.get('host'),
          ...(conn ? { connection: conn } : {}),
        });
      },
      onComplete: (ctx, id) => {
        costs.done(ctx.extra, id);
        ctx.extra.conn?.operations.delete(id);
      },
      onClose: (ctx) => {
        ctx.extra.conn?.dispose();
      },
      // extensions.cost on every answer: in a Next message's result, on each error of an Error message.
      onError: (ctx, id, _payload, errors) => costs.errors(ctx.extra, id, formatErrors(errors)),
      onNext: (ctx, id, _payload, _args, result) => costs.result(ctx.extra, id, result.errors ? { ...result, errors: formatErrors(result.errors) } : result),
    },
    wss,
  );
  return {
    dispose: async () => {
      await started;
      await sessions.stop();
      await server.dispose();
    },
  };
}
