/**
 * WebDAV's one error mapping: an AppError (or a DavError a handler raised for a protocol status
 * such as 412, 423 or 507) becomes a status and an XML `<D:error>` body (RFC 4918 §16) that also
 * says, in Stratus's namespace, the code, the stable reason and the message, so a refused name is
 * a clear answer ("name_invalid_character: A name cannot contain ...").
 */
import type { Response } from 'express';
import { httpStatusOf, type AppError, type ErrorDetails } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import { normalizeError } from '../../internal/platform/rpc/client.ts';
import { mayDrain, withinDrainTime } from '../http/http.errors.ts';
import { DAV_NS, element, escapeXml } from './dav-xml.ts';

export const STRATUS_NS = 'urn:stratus:dav';

/** A status the WebDAV protocol prescribes, with the precondition elements of §16 to name. */
export class DavError extends Error {
  override readonly name = 'DavError';
  constructor(
    readonly status: number,
    message: string,
    readonly conditions: readonly string[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/**
 * The status of a service's refusal over WebDAV. Mostly the HTTP table (httpStatusOf); the
 * differences are WebDAV's own: 507 Insufficient Storage when the quota is exhausted (RFC 4918
 * §11.5: "the server is unable to store the representation needed to successfully complete the
 * request"), 403 for operations on the root and for a copy or move into its own subtree (§9.8.5:
 * "403 (Forbidden) - The operation is forbidden. A special case for COPY could be that the source
 * and destination resources are the same resource"), 409 when a folder on the way is a file
 * (§9.7.1 "409 (Conflict) ... one or more intermediate collections" are missing).
 */
export function davStatusOf(error: AppError): number {
  if (error.code === 'QUOTA_EXCEEDED') return 507;
  const reason = error.details?.reason;
  return (reason && BY_REASON[`${error.code}:${reason}`]) || httpStatusOf(error.code);
}

/** The refusals whose WebDAV status is not the HTTP table's (see davStatusOf). */
const BY_REASON: Readonly<Record<string, number>> = {
  'BAD_INPUT:root': 403,
  'BAD_INPUT:move_cycle': 403,
  'BAD_INPUT:too_deep': 403,
  'BAD_INPUT:tree_too_large': 403,
  'BAD_INPUT:not_a_folder': 409,
  'CONFLICT:name_taken': 412,
  'CONFLICT:precondition_failed': 412,
  'CONFLICT:if_failed': 412,
  'CONFLICT:lock_token_unknown': 412,
  // RFC 4918 §11.3: "423 (Locked) - The source or destination resource of a method is locked".
  'CONFLICT:locked': 423,
};

export function sendDavError(res: Response, error: unknown, log: Logger): void {
  if (res.headersSent) {
    log.debug({ err: error }, 'WebDAV answer broken off');
    res.destroy();
    return;
  }
  if (error instanceof DavError) {
    for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
    return sendXml(res, error.status, errorBody(error.conditions, { code: String(error.status), message: error.message }));
  }
  const app = normalizeError(error);
  if (app.code === 'INTERNAL') log.error({ err: error }, 'WebDAV request failed');
  // RFC 7617 §2: the challenge names the realm; WebDAV clients answer it with the person's
  // e-mail or name and a personal access token (api/http/auth.ts).
  if (app.code === 'UNAUTHENTICATED') res.setHeader('WWW-Authenticate', 'Basic realm="Stratus", charset="UTF-8"');
  if (app.retryAfter !== undefined) res.setHeader('Retry-After', String(app.retryAfter));
  const message = app.code === 'INTERNAL' ? 'Internal error' : app.message;
  sendXml(res, davStatusOf(app), errorBody([], { code: app.code, message, details: app.details }));
}

function errorBody(conditions: readonly string[], info: { code: string; message: string; details?: ErrorDetails | undefined }): string {
  const reason = info.details?.reason ? `<reason>${escapeXml(info.details.reason)}</reason>` : '';
  const stratus = `<error xmlns="${STRATUS_NS}"><code>${escapeXml(info.code)}</code>${reason}<message>${escapeXml(info.message)}</message></error>`;
  return `<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="${DAV_NS}">${conditions.map((c) => element(DAV_NS, c)).join('')}${stratus}</D:error>\n`;
}

/**
 * A refusal of a request whose body is still arriving (a PUT refused before it was read) waits
 * for a small body's end first, as the other byte endpoints do (api/http/http.errors.ts mayDrain):
 * unread bytes would make the kernel reset the connection before the client reads the answer.
 */
function sendXml(res: Response, status: number, body: string): void {
  if (mayDrain(res.req)) {
    void withinDrainTime(new Promise<void>((resolve) => res.req.on('end', resolve).on('error', resolve).on('close', resolve).resume())).then(() => writeXml(res, status, body));
    return;
  }
  writeXml(res, status, body);
}

function writeXml(res: Response, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  if (!res.req.complete) res.setHeader('Connection', 'close');
  res.status(status);
  if (res.req.method === 'HEAD') return void res.end();
  res.setHeader('Content-Type', 'application/xml; charset=utf-8');
  res.end(body);
}
