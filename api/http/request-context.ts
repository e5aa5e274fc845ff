/**
 * First middleware of every request: a request id (kept from `X-Request-Id` when harmless), the
 * AsyncLocalStorage context the services read, the request metric (by route template) and one
 * access-log line (access-log.ts) when the request ends.
 */
import type { RequestHandler } from 'express';
import type { Metrics } from '../../internal/platform/metrics.ts';
import { bytesWrittenTo } from '../../internal/platform/splice.ts';
import { newRequestId, runWithContext } from '../../internal/platform/request-context.ts';
import type { AccessLog } from './access-log.ts';
import { routeTemplate } from './route-template.ts';

export function requestContext(accessLog: AccessLog, metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const requestId = newRequestId(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    // Labelled now, from the path alone (route-template.ts says why).
    const route = routeTemplate(req.path);
    const socket = req.socket;
    // Spliced bytes too (a proxied download's body may never pass through Node: splice-body.ts).
    const writtenBefore = bytesWrittenTo(socket);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.httpRequests.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    // 'close' comes after 'finish', and also when the client went away first (aborted).
    res.once('close', () => {
      const ms = Math.round(Number(process.hrtime.bigint() - started) / 1e6);
      accessLog({ requestId, method: req.method, route, status: res.statusCode, bytes: bytesWrittenTo(socket) - writtenBefore, ms, aborted: !res.writableFinished });
    });
    runWithContext({ requestId, ip: req.ip, ...userAgentOf(req.headers['user-agent']) }, () => next());
  };
}

/** The User-Agent for the activity log, cut to what it stores (a huge header is no reason to keep it all). */
function userAgentOf(header: string | undefined): { userAgent?: string } {
  return header ? { userAgent: header.slice(0, 255) } : {};
}
