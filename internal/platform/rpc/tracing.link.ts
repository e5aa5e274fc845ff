/**
 * The tracing link of every tRPC client (runtime.ts adds it to the process's links when tracing is
 * on): a CLIENT span per call, active while the transport runs, so the HTTP link's headers carry
 * it as `traceparent` (client.ts) and an in-process procedure's SERVER span (trpc.ts) is its child.
 */
import type { TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import { context, failSpan, SpanKind, trace, tracer } from '../tracing/tracing.ts';
import type { ClientLink } from './client.ts';

export const trpcTracingLink: ClientLink = ({ service, transport }): TRPCLink<AnyRouter> =>
  () =>
    ({ op, next }) => {
      // A subscription lives as long as its listener: no span would mean anything.
      if (op.type === 'subscription') return next(op);
      return observable((observer) => {
        const span = tracer.startSpan(`${service}.${op.path}`, {
          kind: SpanKind.CLIENT,
          attributes: { 'rpc.system': 'trpc', 'rpc.service': service, 'rpc.method': op.path, 'stratus.rpc.transport': transport },
        });
        let ended = false;
        const end = (error?: unknown) => {
          if (ended) return;
          ended = true;
          if (error !== undefined) failSpan(span, error);
          span.end();
        };
        // Subscribed inside the span's context: the transport starts its request right here.
        const subscription = context.with(trace.setSpan(context.active(), span), () =>
          next(op).subscribe({
            next: (envelope) => {
              end();
              observer.next(envelope);
            },
            error: (error) => {
              end(error);
              observer.error(error);
            },
            complete: () => {
              end();
              observer.complete();
            },
          }),
        );
        return () => {
          end();
          subscription.unsubscribe();
        };
      });
    };
