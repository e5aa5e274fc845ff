/**
 * The metrics link of every tRPC client (client.ts puts it before the transport): the duration of
 * each query and mutation by procedure (`<service>.<path>`, e.g. `files.shares.list`: the routers'
 * procedures, a bounded set), transport (`inprocess` | `http`) and outcome (`ok` | `error`), in
 * `stratus_trpc_client_duration_seconds`. Subscriptions stay open for as long as a client
 * listens: they are not timed.
 */
import type { TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { Histogram } from 'prom-client';
import type { ClientLink } from './client.ts';

export function trpcMetricsLink(histogram: Histogram<'procedure' | 'transport' | 'outcome'>): ClientLink {
  return ({ service, transport }): TRPCLink<AnyRouter> =>
    () =>
      ({ op, next }) => {
        if (op.type === 'subscription') return next(op);
        return observable((observer) => {
          const started = performance.now();
          let recorded = false;
          const record = (outcome: 'ok' | 'error') => {
            if (recorded) return;
            recorded = true;
            histogram.observe({ procedure: `${service}.${op.path}`, transport, outcome }, (performance.now() - started) / 1000);
          };
          const subscription = next(op).subscribe({
            next: (envelope) => {
              record('ok');
              observer.next(envelope);
            },
            error: (error) => {
              record('error');
              observer.error(error);
            },
            complete: () => observer.complete(),
          });
          return () => subscription.unsubscribe();
        });
      };
}
