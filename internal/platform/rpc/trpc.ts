/**
 * The tRPC set-up every internal service shares: its context, and the one place where an AppError
 * becomes a tRPC error (code mapped by `trpcCodeOf`, the AppError code kept in `data.appCode` so the
 * calling side can rebuild the same AppError).
 */
import { initTRPC, TRPCError } from '@trpc/server';
import { AppError, trpcCodeOf, type ErrorCode } from '../errors.ts';
import { normalizeError, type AppErrorData } from './rpc.errors.ts';
import type { Logger } from '../logger.ts';
import type { Viewer } from '../request-context.ts';
import { context, failSpan, SpanKind, trace, tracer, tracingEnabled } from '../tracing/tracing.ts';

export interface ServiceContext {
  requestId: string;
  viewer: Viewer | undefined;
  ip: string | undefined;
  /**
   * The service's own logger, not a per-call child: a pino child with redaction costs a few KiB of
   * allocations and a chunk upload makes several calls, while few calls ever log; the lines that
   * do carry the request id themselves.
   */
  log: Logger;
}


const t = initTRPC.context<ServiceContext>().create({
  errorFormatter({ shape, error }) {
    const app = error.cause instanceof AppError ? error.cause : undefined;
    const appCode: ErrorCode = app?.code ?? (error.code === 'BAD_REQUEST' ? 'BAD_INPUT' : 'INTERNAL');
    const data: AppErrorData = { appCode, details: app?.details, retryAfter: app?.retryAfter };
    // Internal failures keep their message out of the response (it may hold SQL or paths).
    const message = appCode === 'INTERNAL' ? 'Internal error' : shape.message;
    return { ...shape, message, data: { ...shape.data, ...data, stack: undefined } };
  },
});

/**
 * Every procedure runs through this: AppErrors (and anything else) leave as one TRPCError. With
 * tracing on it also opens the procedure's SERVER span, the child of the caller's: its tRPC CLIENT
 * span in process, or the `traceparent` serve.ts took from the HTTP call. (Here rather than in a
 * middleware of its own: off, that layer alone cost ~4 µs a call.)
 */
const errorBoundary = t.middleware(async ({ next, ctx, path, type }) => {
  const span = tracingEnabled() ? tracer.startSpan(path, { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'trpc', 'rpc.method': path, 'stratus.rpc.type': type } }) : undefined;
  const result = span ? await context.with(trace.setSpan(context.active(), span), () => next()) : await next();
  if (span) {
    if (!result.ok) failSpan(span, result.error);
    span.end();
  }
  if (!result.ok) {
    const original = result.error.cause ?? result.error;
    if (result.error.code === 'BAD_REQUEST' && !(original instanceof AppError)) {
      // zod input validation failed: that is the caller's bad input.
      const app = new AppError('BAD_INPUT', result.error.message, { cause: original });
      throw new TRPCError({ code: 'BAD_REQUEST', message: app.message, cause: app });
    }
    const app = normalizeError(original);
    if (app.code === 'INTERNAL') ctx.log.error({ err: app.cause ?? app, path, requestId: ctx.requestId }, 'procedure failed');
    throw new TRPCError({ code: trpcCodeOf(app.code), message: app.message, cause: app });
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(errorBoundary);
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.viewer) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return next({ ctx: { ...ctx, viewer: ctx.viewer } });
});
export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!ctx.viewer.isAdmin) throw new AppError('FORBIDDEN', 'Administrators only');
  return next();
});

