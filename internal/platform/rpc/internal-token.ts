/**
 * The shared secret that makes a service call an internal one (INTERNAL_TOKEN, from the chart's
 * Secret): the tRPC http client sends it, the tRPC http server refuses any call without it, so
 * only pods that were given the Secret can act as a service client or vouch for a client address
 * (`x-stratus-client-ip`). Compared as SHA-256 digests with timingSafeEqual: equal-length inputs,
 * no early exit on the first differing byte, no length oracle.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const INTERNAL_TOKEN_HEADER = 'x-stratus-internal-token';

export function internalTokenMatcher(expected: string): (presented: string | string[] | undefined) => boolean {
  const want = createHash('sha256').update(expected).digest();
  return (presented) => {
    if (typeof presented !== 'string' || presented.length === 0) return false;
    return timingSafeEqual(createHash('sha256').update(presented).digest(), want);
  };
}

/** The tRPC-shaped refusal (non-batched httpLink), so a client rebuilds AppError FORBIDDEN. */
export function refusalBody(): string {
  return JSON.stringify({
    error: {
      message: 'Internal calls need the internal token',
      code: -32003,
      data: { code: 'FORBIDDEN', httpStatus: 403, appCode: 'FORBIDDEN', details: { reason: 'internal_caller_refused' } },
    },
  });
}
