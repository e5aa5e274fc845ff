/**
 * Apollo Server with the document bounds (document-bounds.ts) checked before Apollo parses and
 * validates: every HTTP path (GET, JSON POST, the multipart handler) goes through
 * `executeHTTPGraphQLRequest`, so one override covers them. A refused document is answered 400
 * BAD_INPUT with its reason, in the GraphQL shape, before any context (token check) is built.
 */
import { ApolloServer, HeaderMap, type ApolloServerOptions, type BaseContext, type HTTPGraphQLRequest, type HTTPGraphQLResponse } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { withCost } from './cost-report.ts';
import { boundDocument } from './document-bounds.ts';
import type { QueryLimits } from './limits.ts';

type Format = (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;

/** The query text of a request as Apollo will read it; undefined when there is none to check. */
function querySource(request: HTTPGraphQLRequest): string | undefined {
  if (request.method === 'GET') return new URLSearchParams(request.search).get('query') ?? undefined;
  const body = request.body as { query?: unknown } | null | undefined;
  return body && typeof body === 'object' && !Array.isArray(body) && typeof body.query === 'string' ? body.query : undefined;
}

export class BoundedApolloServer<C extends BaseContext> extends ApolloServer<C> {
  private readonly limits: QueryLimits;
  private readonly format: Format;

  constructor(config: ApolloServerOptions<C>, bounds: { limits: QueryLimits; formatError: Format }) {
    super(config);
    this.limits = bounds.limits;
    this.format = bounds.formatError;
  }

  override async executeHTTPGraphQLRequest(args: Parameters<ApolloServer<C>['executeHTTPGraphQLRequest']>[0]): Promise<HTTPGraphQLResponse> {
    const source = querySource(args.httpGraphQLRequest);
    const bounded = source === undefined ? undefined : boundDocument(source, this.limits);
    if (bounded?.kind !== 'refused') return super.executeHTTPGraphQLRequest(args);
    return this.refuse(bounded.error);
  }

  private refuse(error: GraphQLError): HTTPGraphQLResponse {
    const errors: GraphQLFormattedError[] = [this.format(error.toJSON(), error)];
    const body = withCost<{ errors: GraphQLFormattedError[]; extensions?: Record<string, unknown> }>({ errors }, { requested: null, limit: this.limits.maxCost });
    return {
      status: 400,
      headers: new HeaderMap([['content-type', 'application/json; charset=utf-8']]),
      body: { kind: 'complete', string: `${JSON.stringify(body)}\n` },
    };
  }
}
