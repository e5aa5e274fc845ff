/**
 * The GraphQL boundary's one error mapping: every error leaves with `extensions.code` from the
 * closed AppError union. Apollo's own codes (parse/validation/bad input) become BAD_INPUT;
 * anything unexpected is INTERNAL with its message hidden (logged with the request id instead).
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { AppError, isErrorCode } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { Metrics } from '../../internal/platform/metrics.ts';
import { normalizeError } from '../../internal/platform/rpc/client.ts';

const CLIENT_ERRORS = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
]);

export function graphqlErrorFormatter(log: Logger, metrics: Metrics) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const unwrapped = unwrapResolverError(error);
    // Outside Apollo (graphql-ws) a resolver's error arrives as a GraphQLError wrapping it.
    const original = unwrapped instanceof GraphQLError && unwrapped.originalError ? unwrapped.originalError : unwrapped;
    const app = appErrorOf(formatted, original);
    if (app.code === 'INTERNAL') log.error({ err: original }, 'graphql resolver failed');
    metrics.graphqlErrors.inc({ code: app.code });
    const extensions: Record<string, unknown> = { code: app.code };
    if (app.details) extensions.details = app.details;
    if (app.retryAfter !== undefined) extensions.retryAfter = app.retryAfter;
    return {
      message: app.code === 'INTERNAL' ? 'Internal error' : app.message,
      locations: formatted.locations,
      path: formatted.path,
      extensions,
    };
  };
}

/** The AppError a formatted GraphQL error stands for (`original`: the error the resolver threw). */
function appErrorOf(formatted: GraphQLFormattedError, original: unknown): AppError {
  const apolloCode = formatted.extensions?.code;
  const details = formatted.extensions?.details as Record<string, unknown> | undefined;
  if (typeof apolloCode === 'string' && CLIENT_ERRORS.has(apolloCode)) {
    return new AppError('BAD_INPUT', formatted.message, { details: details ?? { reason: apolloCode.toLowerCase() } });
  }
  if (isErrorCode(apolloCode)) {
    // Raised by the gateway itself with a code of the union (e.g. a bad token in the context).
    // Over graphql-ws a query-limit refusal arrives this way too: keep its details.reason.
    return new AppError(apolloCode, formatted.message.replace(/^Context creation failed: /, ''), details ? { details } : {});
  }
  return fromResolverError(formatted, original, apolloCode);
}

/** An error without a code of ours: the resolver's AppError / tRPC error, or graphql-js's own. */
function fromResolverError(formatted: GraphQLFormattedError, original: unknown, apolloCode: unknown): AppError {
  if (original instanceof AppError || (original && typeof original === 'object' && 'shape' in original)) return normalizeError(original);
  if (original instanceof Error && original.name === 'GraphQLError' && apolloCode === undefined) {
    // Errors from graphql-js itself (e.g. a scalar that could not parse a variable).
    return new AppError('BAD_INPUT', formatted.message);
  }
  if (!formatted.path && !(original instanceof Error && original.name !== 'GraphQLError')) {
    // No path: the request failed before any field ran (parsing, validation, variable
    // coercion): the request was bad, whatever graphql-js wrapped.
    return new AppError('BAD_INPUT', formatted.message);
  }
  return normalizeError(original);
}
