/**
 * Errors that cross a service call. The callee's AppError code travels in the tRPC error's
 * `data.appCode` (see the errorFormatter in trpc.ts); the caller rebuilds the same AppError, so a
 * NOT_FOUND three services deep is still NOT_FOUND at the edge. A call that never reached the
 * service is UNAVAILABLE.
 */
import { TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { AppError, isErrorCode, toAppError, type ErrorCode } from '../errors.ts';

export interface AppErrorData {
  appCode: ErrorCode;
  details?: Record<string, unknown>;
  retryAfter?: number;
}

export function appErrorFromData(message: string, data: unknown, cause: unknown): AppError {
  const record = (data ?? {}) as Partial<AppErrorData>;
  const code = isErrorCode(record.appCode) ? record.appCode : 'INTERNAL';
  return new AppError(code, message, { cause, details: record.details ?? undefined, retryAfter: record.retryAfter ?? undefined });
}

export function normalizeError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof TRPCClientError) {
    const data = (error as TRPCClientError<AnyRouter>).data as unknown;
    if (data && typeof data === 'object' && 'appCode' in data) return appErrorFromData(error.message, data, error);
    return new AppError('UNAVAILABLE', 'A service could not be reached', { cause: error });
  }
  return toAppError(error);
}
