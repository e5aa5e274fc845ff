/**
 * The terminating link of an in-process client: calls the router's procedure in this process, as
 * tRPC's `localLink` does, minus what a call that cannot be cancelled does not need.
 *
 * `localLink` gives every call an AbortController raced against the caller's signal and aborts it
 * when the observable is torn down, that is after every call: each abort builds a DOMException
 * (with its stack), and with the client's own abort that was three per call — ~5 % of an API
 * listing's CPU with two service calls (issue 21 profile). No procedure here reads `signal`, and a
 * resolver cannot stop a service call midway anyway, so none is made. Errors are shaped exactly as
 * `localLink` shapes them (the router's errorFormatter: `data.appCode`), so `normalizeError` sees
 * the same TRPCClientError in process and over HTTP. Queries and mutations only: the services
 * have no subscriptions.
 */
import { TRPCClientError, type TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';
// The same internals tRPC's own localLink is built from (its package pins this module's version).
import { callProcedure, getErrorShape, getTRPCErrorFromUnknown } from '@trpc/server/unstable-core-do-not-import';

export function inProcessLink<R extends AnyRouter>(router: R, createContext: () => Promise<unknown>): TRPCLink<R> {
  return () =>
    ({ op }) =>
      observable((observer) => {
        let ctx: unknown;
        const call = async () => {
          if (op.type === 'subscription') throw new Error(`subscriptions are not served in process (${op.path})`);
          ctx = await createContext();
          return callProcedure({ router, path: op.path, getRawInput: async () => op.input, ctx, type: op.type, signal: undefined, batchIndex: 0 });
        };
        call().then(
          (data) => {
            observer.next({ result: { data } });
            observer.complete();
          },
          (cause: unknown) => {
            const error = getTRPCErrorFromUnknown(cause);
            const shape = getErrorShape({ config: router._def._config, ctx, error, input: op.input, path: op.path, type: op.type });
            observer.error(TRPCClientError.from({ error: shape }, { cause: cause instanceof Error ? cause : undefined }));
          },
        );
      });
}
