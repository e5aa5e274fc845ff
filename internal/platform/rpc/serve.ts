/**
 * Serves a service's tRPC router over HTTP at /trpc (distributed mode). The caller's access token
 * is verified here again: a service trusts no identity it cannot check itself. With an internal
 * token configured, a call without it is refused (403) before anything else is read, and only such
 * a call may set `x-stratus-client-ip`; without one (development) the header is believed as before.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AnyRouter } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { bearerToken, type TokenSigner } from '../auth/access-token.ts';
import type { Logger } from '../logger.ts';
import { currentContext, newRequestId, runWithContext } from '../request-context.ts';
import { carryTrace, context, extractTrace, tracingEnabled } from '../tracing/tracing.ts';
import { INTERNAL_TOKEN_HEADER, internalTokenMatcher, refusalBody } from './internal-token.ts';
import type { ServiceContext } from './trpc.ts';

export { INTERNAL_TOKEN_HEADER } from './internal-token.ts';

export interface TrpcHttpOptions {
  /** INTERNAL_TOKEN: required from every caller when set. */
  internalToken?: string | undefined;
}

export function trpcHttpHandler(router: AnyRouter, tokens: TokenSigner, log: Logger, options: TrpcHttpOptions = {}) {
  const isInternal = options.internalToken ? internalTokenMatcher(options.internalToken) : undefined;
  const handler = createHTTPHandler({
    router,
    basePath: '/trpc/',
    createContext: async ({ req }): Promise<ServiceContext> => {
      const requestId = newRequestId(req.headers['x-request-id']);
      const token = bearerToken(req.headers.authorization);
      // An invalid token is treated as no token: the procedure decides whether it needs one.
      const viewer = token ? await tokens.verifyAccess(token).catch(() => undefined) : undefined;
      // The database layer keys the person's read-your-writes marker by the context's viewer.
      const rc = currentContext();
      if (rc && viewer) rc.viewer = viewer;
      const ipHeader = req.headers['x-stratus-client-ip'];
      const ip = typeof ipHeader === 'string' ? ipHeader : req.socket.remoteAddress;
      return { requestId, viewer, ip, log };
    },
  });
  return (req: IncomingMessage, res: ServerResponse) => {
    if (isInternal && !isInternal(req.headers[INTERNAL_TOKEN_HEADER])) {
      log.warn({ remote: req.socket.remoteAddress, path: req.url }, 'internal call without a valid internal token refused');
      req.resume();
      res.writeHead(403, { 'content-type': 'application/json' }).end(refusalBody());
      return;
    }
    const requestId = newRequestId(req.headers['x-request-id']);
    const token = bearerToken(req.headers.authorization);
    // Nested service calls made while handling this one forward the same identity and request id;
    // a caller that already wrote (x-stratus-wrote) makes this call read from the primary too.
    const wrote = req.headers['x-stratus-wrote'] === '1';
    // The client's address and browser as the gateway saw them, for the activity log (believed
    // like x-stratus-client-ip: only from a caller holding the internal token, when one is set).
    const ipHeader = req.headers['x-stratus-client-ip'];
    const agentHeader = req.headers['x-stratus-user-agent'];
    const origin = { ...(typeof ipHeader === 'string' ? { ip: ipHeader } : {}), ...(typeof agentHeader === 'string' ? { userAgent: agentHeader.slice(0, 255) } : {}) };
    // The caller's trace: its tRPC CLIENT span becomes the parent of this procedure's (trpc.ts).
    const rc = { requestId, accessToken: token, ...origin, ...(wrote ? { wrote } : {}) };
    if (!tracingEnabled()) return runWithContext({ ...rc, ...carryTrace(req.headers) }, () => handler(req, res));
    context.with(extractTrace(req.headers), () => runWithContext(rc, () => handler(req, res)));
  };
}
