/** The HTTP boundary's one error mapping: AppError code → status (httpStatusOf), JSON body. */
import type { ErrorRequestHandler, Response } from 'express';
import type { IncomingMessage } from 'node:http';
import { AppError, httpStatusOf } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import { normalizeError } from '../../internal/platform/rpc/client.ts';

/**
 * A refused request whose body is still arriving (a chunk refused before it was read, say): a
 * body up to this size is read and dropped before the answer, so the client, still writing, gets
 * the answer on a connection that stays usable. RFC 9112 §9.6: "If a server performs an immediate
 * close of a TCP connection, there is a significant risk that the client will not be able to read
 * the last HTTP response" — the unread bytes make the kernel reset the connection and the client
 * sees EPIPE/ECONNRESET instead of our error. Larger bodies (or a client too slow to send one
 * within the time) are answered at once and the connection closed.
 */
const DRAIN_LIMIT_BYTES = 16 * 1024 * 1024;
const DRAIN_TIMEOUT_MS = 10_000;

/** The JSON body of an error answer; `render` lets a boundary add its own shape (GraphQL). */
export type ErrorBody = (app: AppError, message: string) => unknown;
const restBody: ErrorBody = (app, message) => ({ error: { code: app.code, message, details: app.details } });

export function sendError(res: Response, app: AppError, render: ErrorBody = restBody): void {
  if (res.headersSent) {
    res.destroy(app);
    return;
  }
  const req = res.req;
  if (mayDrain(req)) {
    void withinDrainTime(drained(req)).then(() => answer(res, app, render));
    return;
  }
  answer(res, app, render);
}

/** Whether a request whose body is still arriving is small enough to read to its end first. */
export function mayDrain(req: IncomingMessage): boolean {
  const length = Number(req.headers['content-length'] ?? Number.NaN);
  return !req.complete && !req.destroyed && Number.isSafeInteger(length) && length <= DRAIN_LIMIT_BYTES;
}

/** `done`, or undefined once the drain time has passed without it. */
export function withinDrainTime<T>(done: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS, undefined)));
  return Promise.race([done, late]).finally(() => clearTimeout(timer));
}

function answer(res: Response, app: AppError, render: ErrorBody): void {
  if (res.headersSent || res.destroyed) return;
  // Still unread: the connection is closed after this answer, so the client must not reuse it.
  if (!res.req.complete) res.setHeader('Connection', 'close');
  if (app.retryAfter !== undefined) res.setHeader('Retry-After', String(app.retryAfter));
  if (app.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer');
  res.status(httpStatusOf(app.code)).json(render(app, app.code === 'INTERNAL' ? 'Internal error' : app.message));
}

/** Reads and drops the rest of the request body; resolves when it ended or failed. */
function drained(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('end', done).off('error', done).off('close', done);
      resolve();
    };
    req.on('end', done).on('error', done).on('close', done);
    req.resume();
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
