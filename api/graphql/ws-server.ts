/**
 * graphql-ws (the graphql-transport-ws protocol) on the HTTP server's /graphql path: queries,
 * mutations and subscriptions, each run with the identity its connection signed in with.
 *
 * - Sign-in is per connection: `connectionParams.authorization` ("Bearer <token>" or the bare
 *   token), checked once in ConnectionInit. None: an anonymous connection, served like an HTTP
 *   request without `Authorization` (protected fields answer UNAUTHENTICATED). One that does not
 *   verify: the socket is closed with 4403 Forbidden (the protocol's answer to a refused
 *   ConnectionInit), as HTTP answers 401.
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
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
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
import { buildContext, identify, type ContextDeps, type GraphQLContext, type Identity } from './context.ts';

export interface WsServerOptions {
  server: Server;
  /** The Express app: the upgrade request's address, scheme and host follow its `trust proxy`. */
  app: Express;
  schema: GraphQLSchema;
  /** Validation rules beyond graphql-js's specified ones (the query limits). */
  rules: readonly ValidationRule[];
  production: boolean;
  deps: ContextDeps;
  /** The gateway's error mapping: every error leaves with a code of the AppError union. */
  formatErrors: (errors: readonly GraphQLError[]) => GraphQLFormattedError[];
}

type Extra = Record<PropertyKey, unknown> & { identity?: Identity };

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
  const wss = new WebSocketServer({ server: options.server, path: '/graphql' });
  return useServer<Record<string, unknown>, Extra>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          ctx.extra.identity = await identify(deps.tokens, connectionToken(ctx.connectionParams));
          return true;
        } catch {
          return false;
        }
      },
      onSubscribe: (_ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
        let document: DocumentNode;
        try {
          document = parse(payload.query);
        } catch (error) {
          return [error instanceof GraphQLError ? error : new GraphQLError('Malformed query')];
        }
        const errors = validate(schema, document, rules);
        if (errors.length > 0) return errors;
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
      },
      context: (ctx): GraphQLContext => {
        const req = asExpressRequest(options.app, ctx.extra.request);
        return buildContext(deps, {
          identity: ctx.extra.identity ?? { viewer: undefined, accessToken: undefined },
          request: { requestId: newRequestId(), ...(req.ip ? { ip: req.ip } : {}) },
          protocol: req.protocol,
          host: req.get('host'),
        });
      },
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
      onNext: (_ctx, _id, _payload, _args, result) => (result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined),
    },
    wss,
  );
}
