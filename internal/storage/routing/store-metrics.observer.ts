/**
 * The metrics observer of every object-store call (observed-store.ts): its duration by backend,
 * operation and outcome in `stratus_object_store_request_duration_seconds`. A `get` is timed until
 * its headers arrive (the body streams afterwards and is counted by the download metrics).
 */
import type { Histogram } from 'prom-client';
import type { StoreCall, StoreCallObserver } from './observed-store.ts';

export function storeMetricsObserver(histogram: Histogram<'backend' | 'operation' | 'outcome'>): StoreCallObserver {
  return {
    async around<T>(call: StoreCall, run: () => Promise<T>): Promise<T> {
      const started = performance.now();
      let outcome: 'ok' | 'error' = 'error';
      try {
        const result = await run();
        outcome = 'ok';
        return result;
      } finally {
        histogram.observe({ backend: call.backend, operation: call.operation, outcome }, (performance.now() - started) / 1000);
      }
    },
  };
}
