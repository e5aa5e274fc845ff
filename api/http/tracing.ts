/**
 * The gateway's SERVER span of each HTTP request (tracing on): the child of the client's
 * `traceparent` when it sent one (W3C Trace Context), named by route template so no id or share
 * token lands in a span name. Every span of the request (resolvers' tRPC calls, chunk writes to the
 * object store) descends from it. Off, the client's `traceparent` is only kept in the request
 * context, for the service calls to pass on unchanged.
 */
import type { RequestHandler } from 'express';
import { currentContext } from '../../internal/platform/request-context.ts';
import { carryTrace, context, extractTrace, SpanKind, SpanStatusCode, trace, tracer, tracingEnabled } from '../../internal/platform/tracing/tracing.ts';
import { routeTemplate } from './route-template.ts';

/** Mounted right after requestContext (it reads and extends that request context). */
export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    if (!tracingEnabled()) {
      const rc = currentContext();
      if (rc) Object.assign(rc, carryTrace(req.headers));
      return next();
    }
    const route = routeTemplate(req.path);
    const parent = extractTrace(req.headers);
    const span = tracer.startSpan(
      `${req.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'http.route': route } },
      parent,
    );
    // 'close' follows 'finish', and comes alone when the client went away first.
    res.once('close', () => {
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500 || !res.writableFinished) span.setStatus({ code: SpanStatusCode.ERROR, ...(res.writableFinished ? {} : { message: 'client went away' }) });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => next());
  };
}
