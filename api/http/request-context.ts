/**
 * First middleware of every request: a request id (kept from `X-Request-Id` when harmless), the
 * AsyncLocalStorage context the services read, one access-log line and the request metric.
 */
import type { RequestHandler } from 'express';
import type { Logger } from '../../internal/platform/logger.ts';
import type { Metrics } from '../../internal/platform/metrics.ts';
import { newRequestId, runWithContext } from '../../internal/platform/request-context.ts';

export function requestContext(log: Logger, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const requestId = newRequestId(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    // Labelled now: a router mounted on a path (app.use('/graphql', …)) strips it from req.url, and
    // the response often finishes inside that router, so at 'finish' every such path read "/".
    const route = routeLabel(req.path);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      log.debug({ requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
    });
    runWithContext({ requestId, ip: req.ip, ...userAgentOf(req.headers['user-agent']) }, () => next());
  };
}

/** The User-Agent for the activity log, cut to what it stores (a huge header is no reason to keep it all). */
function userAgentOf(header: string | undefined): { userAgent?: string } {
  return header ? { userAgent: header.slice(0, 255) } : {};
}

/** Low-cardinality route names for metrics, by route template: ids never become label values. */
function routeLabel(path: string): string {
  if (path.startsWith('/graphql')) return '/graphql';
  if (path.startsWith('/upload/')) return '/upload/:id/:index';
  if (/^\/files\/[^/]+\/content/.test(path)) return '/files/:id/content';
  if (/^\/s\/[^/]+\/[^/]+/.test(path)) return '/s/:token/:fileId';
  if (path.startsWith('/s/')) return '/s/:token';
  if (['/healthz', '/readyz', '/metrics', '/graphiql', '/'].includes(path)) return path;
  if (path.startsWith('/graphiql/')) return '/graphiql/assets';
  if (path.startsWith('/assets/')) return '/assets/:name';
  return 'other';
}
