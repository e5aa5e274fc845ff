/**
 * The tracing observer of every object-store call (observed-store.ts; runtime.ts adds it when
 * tracing is on): a CLIENT span per call inside a trace — a chunk's `uploadPart`, a completion's
 * `completeMultipart`, a transfer's copy — named `<type> <operation>`, with the backend and key.
 * Calls outside any trace (sweeps, probes) make no spans.
 */
import { inChildSpan, SpanKind } from '../../platform/tracing/tracing.ts';
import type { StoreCall, StoreCallObserver } from './observed-store.ts';

export const storeTracingObserver: StoreCallObserver = {
  around<T>(call: StoreCall, run: () => Promise<T>): Promise<T> {
    return inChildSpan(
      `${call.type} ${call.operation}`,
      SpanKind.CLIENT,
      {
        'stratus.store.backend': call.backend,
        'stratus.store.type': call.type,
        'stratus.store.operation': call.operation,
        ...(call.key === undefined ? {} : { 'stratus.store.key': call.key }),
      },
      run,
    );
  },
};
