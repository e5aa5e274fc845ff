/**
 * Whose fault a refused or failed operation was, for the outcome label of the upload counters:
 * decided once from the error's code (the closed union of errors.ts), never per call site.
 */
import type { ErrorCode } from './errors.ts';
import { normalizeError } from './rpc/rpc.errors.ts';

/** `rejected`: the client's doing (bad hash, size, index, quota, auth); `failed`: the server's or a backend's. */
export type Fault = 'rejected' | 'failed';

const FAULTS: Readonly<Record<ErrorCode, Fault>> = {
  NOT_FOUND: 'rejected',
  FORBIDDEN: 'rejected',
  UNAUTHENTICATED: 'rejected',
  BAD_INPUT: 'rejected',
  CONFLICT: 'rejected',
  QUOTA_EXCEEDED: 'rejected',
  PAYLOAD_TOO_LARGE: 'rejected',
  RATE_LIMITED: 'rejected',
  UNAVAILABLE: 'failed',
  INTERNAL: 'failed',
};

/** Any thrown value (an AppError, a service's error over tRPC, anything else: INTERNAL). */
export function faultOf(error: unknown): Fault {
  return FAULTS[normalizeError(error).code];
}
