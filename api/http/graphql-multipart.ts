/**
 * POST /graphql with a GraphQL multipart body (uploadFile, uploadChunk): reads the body with
 * multipart-body.ts, runs the operation on Apollo, and answers only once the body's verdict is
 * known, so the answer and what was stored agree:
 *
 * - a body refused before execution (bad operations/map, bad boundary…) is answered 400
 *   BAD_INPUT (413 PAYLOAD_TOO_LARGE for a part over its limit) with `details.reason`, in the
 *   GraphQL shape `errors[0].extensions` (and, as before, `error`);
 * - when execution failed as a whole (`data` null) and the body turned out malformed, the body's
 *   error is the answer (its resolver committed nothing: its stream failed); otherwise the
 *   result stands, and a failed one carries the HTTP status of its code (400, 404, 409, …);
 * - a refused body is read and dropped before the answer within the limits of http/http.errors.ts, so
 *   the connection stays usable (RFC 9112 §9.6: "If a server performs an immediate close of a
 *   TCP connection, there is a significant risk that the client will not be able to read the
 *   last HTTP response").
 */
import { HeaderMap, type ApolloServer, type BaseContext, type ContextFunction, type HTTPGraphQLResponse } from '@apollo/server';
import type { Request, RequestHandler, Response } from 'express';
import { httpStatusOf, isErrorCode, type AppError, type ErrorCode } from '../../internal/platform/errors.ts';
import { mayDrain, sendError, withinDrainTime, type ErrorBody } from './http.errors.ts';
import { readMultipart, type MultipartLimits } from './multipart-body.ts';
import { multipartError } from './multipart-errors.ts';

export interface GraphQLMultipartOptions<C extends BaseContext> {
  apollo: ApolloServer<C>;
  context: ContextFunction<[{ req: Request; res: Response }], C>;
  limits: MultipartLimits;
}

/** GraphQL's error shape, plus the REST one multipart refusals had before (`error`). */
const graphqlBody: ErrorBody = (app, message) => ({
  errors: [{ message, extensions: { code: app.code, ...(app.details ? { details: app.details } : {}) } }],
  error: { code: app.code, message, details: app.details },
});

export function graphqlMultipart<C extends BaseContext>(options: GraphQLMultipartOptions<C>): RequestHandler {
  return async (req, res, next) => {
    if (!/^multipart\//i.test(req.headers['content-type'] ?? '')) return next();
    if (!req.is('multipart/form-data')) return sendError(res, multipartError('content_type'), graphqlBody);
    // Apollo's CSRF prevention: a multipart POST is a "simple" request a browser sends cross-site.
    if (!req.headers['apollo-require-preflight'] && !req.headers['x-apollo-operation-name']) {
      return sendError(res, multipartError('csrf'), graphqlBody);
    }
    const body = readMultipart(req, options.limits);
    let operations: Record<string, unknown>;
    try {
      operations = await body.operations;
    } catch (error) {
      return sendError(res, error as AppError, graphqlBody);
    }
    const result = await options.apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers: headerMap(req), search: new URL(req.url, 'http://x').search, body: operations },
      context: () => options.context({ req, res }),
    });
    // Execution is over: bytes no resolver read are dropped, so the parser reaches the end.
    body.discard();
    const failed = failure(result);
    // A success was committed from a verified body (its stream ended only then), or used no
    // bytes: it stands. A failure may wait for the verdict only as long as a refused body may.
    const verdict = !failed ? await body.done : req.complete || mayDrain(req) ? await withinDrainTime(body.done) : undefined;
    if (failed && verdict) return sendError(res, verdict, graphqlBody);
    await send(res, result, failed);
  };
}

function headerMap(req: Request): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

/** The AppError code of a result whose `data` is null (the operation failed as a whole). */
function failure(result: HTTPGraphQLResponse): ErrorCode | undefined {
  if (result.body.kind !== 'complete') return undefined;
  try {
    const parsed = JSON.parse(result.body.string) as { data?: unknown; errors?: { extensions?: { code?: unknown } }[] };
    if (parsed.data != null || !parsed.errors?.length) return undefined;
    const code = parsed.errors[0]?.extensions?.code;
    return isErrorCode(code) ? code : 'INTERNAL';
  } catch {
    return undefined;
  }
}

async function send(res: Response, result: HTTPGraphQLResponse, failed: ErrorCode | undefined): Promise<void> {
  if (res.headersSent || res.destroyed) return;
  for (const [key, value] of result.headers) res.setHeader(key, value);
  // Still unread (a failure answered without waiting for a large body): close after this answer.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  const status = result.status ?? 200;
  res.statusCode = failed && status === 200 ? httpStatusOf(failed) : status;
  if (result.body.kind === 'complete') {
    res.send(result.body.string);
    return;
  }
  for await (const chunk of result.body.asyncIterator) res.write(chunk);
  res.end();
}
