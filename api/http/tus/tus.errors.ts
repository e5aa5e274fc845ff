/**
 * tus's one error mapping: an AppError becomes the status tus 1.0.0 prescribes and a text/plain
 * body `<reason>: <message>` (the stable reason first, so a client or a person reading a log can
 * branch on it). Statuses that are not the HTTP table's (internal/platform/errors.ts httpStatusOf):
 * - 412 for Tus-Resumable: "If the the version specified by the Client is not supported by the
 *   Server, it MUST respond with the `412 Precondition Failed` status and MUST include the
 *   `Tus-Version` header into the response";
 * - 415: "All `PATCH` requests MUST use `Content-Type: application/offset+octet-stream`,
 *   otherwise the server SHOULD return a `415 Unsupported Media Type` status";
 * - 460 Checksum Mismatch (tus-specific, checksum extension);
 * - 413 for quota and size: "If the length of the upload exceeds the maximum ... the Server MUST
 *   respond with the `413 Request Entity Too Large` status" (a person's room is their maximum);
 * - 410 Gone for an expired upload: "the Server SHOULD respond with the `404 Not Found` or
 *   `410 Gone` status. The latter one SHOULD be used if the Server is keeping track of expired
 *   uploads" — the session row is kept (a week) with status EXPIRED, so 410;
 * - 423 Locked when another request writes the upload: tus says nothing of concurrent writers;
 *   423 is tusd's answer (ERR_UPLOAD_LOCKED) and RFC 4918 §11.3's meaning ("The source or
 *   destination resource of a method is locked"); 409 would tell the client its offset is wrong
 *   (it is not), and tus-js-client retries both after a delay.
 */
import type { Response } from 'express';
import { httpStatusOf, type AppError } from '../../../internal/platform/errors.ts';
import type { Logger } from '../../../internal/platform/logger.ts';
import { normalizeError } from '../../../internal/platform/rpc/client.ts';
import { tusRules } from '../../../internal/uploads/index.ts';
import { mayDrain, withinDrainTime } from '../http.errors.ts';

const BY_REASON: Readonly<Record<string, number>> = {
  'BAD_INPUT:tus_version': 412,
  'BAD_INPUT:content_type': 415,
  'BAD_INPUT:checksum_mismatch': 460,
  'CONFLICT:upload_locked': 423,
  'CONFLICT:session_expired': 410,
  'CONFLICT:session_failed': 410,
  'CONFLICT:session_cancelled': 404,
};

export function tusStatusOf(error: AppError): number {
  if (error.code === 'QUOTA_EXCEEDED') return 413;
  const reason = error.details?.reason;
  return (reason && BY_REASON[`${error.code}:${reason}`]) || httpStatusOf(error.code);
}

export function sendTusError(res: Response, error: unknown, log: Logger): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const app = normalizeError(error);
  if (app.code === 'INTERNAL') log.error({ err: error }, 'tus request failed');
  // A refusal before the body was read: a small body is drained so the client reads the answer.
  if (mayDrain(res.req)) {
    void withinDrainTime(drained(res)).then(() => answer(res, app));
    return;
  }
  answer(res, app);
}

function answer(res: Response, app: AppError): void {
  if (res.headersSent || res.destroyed) return;
  const status = tusStatusOf(app);
  if (!res.req.complete) res.setHeader('Connection', 'close');
  if (status === 412) res.setHeader('Tus-Version', tusRules.TUS_VERSION);
  if (app.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Bearer');
  if (app.retryAfter !== undefined) res.setHeader('Retry-After', String(app.retryAfter));
  const message = app.code === 'INTERNAL' ? 'Internal error' : app.message;
  res.status(status).type('text/plain; charset=utf-8').send(`${app.details?.reason ?? app.code.toLowerCase()}: ${message}\n`);
}

function drained(res: Response): Promise<void> {
  const req = res.req;
  return new Promise((resolve) => {
    const done = () => resolve();
    req.once('end', done).once('error', done).once('close', done);
    req.resume();
  });
}
