/** The HTTP boundary's one error mapping: AppError code → status (httpStatusOf), JSON body. */
import type { ErrorRequestHandler, Response } from 'express';
import { AppError, httpStatusOf } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import { normalizeError } from '../../internal/platform/rpc/client.ts';

export function sendError(res: Response, app: AppError): void {
  if (res.headersSent) {
    res.destroy(app);
    return;
  }
  // Refused before the whole request body was read (a chunk too long, say): the connection is
  // closed after this answer, so tell the client not to reuse it for its next request.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  if (app.retryAfter !== undefined) res.setHeader('Retry-After', String(app.retryAfter));
  if (app.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(httpStatusOf(app.code)).json({
    error: { code: app.code, message: app.code === 'INTERNAL' ? 'Internal error' : app.message, details: app.details },
  });
}

export function httpErrorHandler(log: Logger): ErrorRequestHandler {
  return (error: unknown, _req, res, _next) => {
    // Body parsers raise errors carrying a 4xx status: the client's bad input, not our failure.
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code = status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_INPUT';
      sendError(res, new AppError(code, error instanceof Error ? error.message : 'Bad request', { cause: error }));
      return;
    }
    const app = normalizeError(error);
    if (app.code === 'INTERNAL') log.error({ err: error }, 'request failed');
    sendError(res, app);
  };
}
