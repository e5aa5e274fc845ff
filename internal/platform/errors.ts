/**
 * One error class for the whole domain, with a closed set of codes.
 * Each transport maps a code exactly once (see `httpStatusOf`, `trpcCodeOf`; GraphQL uses the code
 * itself as `extensions.code`). A switch over `ErrorCode` is exhaustive, so adding a code fails to
 * compile until every boundary says what it means.
 */
import type { ErrorReason } from './error-reasons.ts';

export const ERROR_CODES = [
  'NOT_FOUND',
  'FORBIDDEN',
  'UNAUTHENTICATED',
  'BAD_INPUT',
  'CONFLICT',
  'QUOTA_EXCEEDED',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'UNAVAILABLE',
  'INTERNAL',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The stable `details.reason` of an error: clients branch on it (README lists the public ones), so
 * the set is closed and lives here; a new reason is added to ERROR_REASONS (error-reasons.ts)
 * before any code can throw it. `grep -rn "reason:"` finds every use.
 */
export type { ErrorReason } from './error-reasons.ts';

/** What an AppError tells a client beyond its code: the reason, the field, and facts such as limits. */
export interface ErrorDetails {
  reason?: ErrorReason;
  field?: string;
  [key: string]: unknown;
}

export interface AppErrorOptions {
  cause?: unknown;
  /** Machine-readable detail a client may act on, e.g. `{ field: 'email' }`. Never secrets. */
  details?: ErrorDetails;
  /** Seconds after which a RATE_LIMITED request may be retried. */
  retryAfter?: number;
}

export class AppError extends Error {
  override readonly name = 'AppError';
  readonly code: ErrorCode;
  readonly details: ErrorDetails | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    this.retryAfter = options.retryAfter;
  }

  static is(value: unknown, code?: ErrorCode): value is AppError {
    return value instanceof AppError && (code === undefined || value.code === code);
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Any thrown value as an AppError; unknown failures become INTERNAL and keep the original as cause. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError('INTERNAL', 'Internal error', { cause: error });
}

export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'BAD_INPUT':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
      return 404;
    case 'CONFLICT':
      return 409;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'QUOTA_EXCEEDED':
      return 507;
    case 'RATE_LIMITED':
      return 429;
    case 'UNAVAILABLE':
      return 503;
    case 'INTERNAL':
      return 500;
  }
}

export type TrpcErrorCode =
  | 'NOT_FOUND'
  | 'FORBIDDEN'
  | 'UNAUTHORIZED'
  | 'BAD_REQUEST'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_SERVER_ERROR'
  | 'PRECONDITION_FAILED';

export function trpcCodeOf(code: ErrorCode): TrpcErrorCode {
  switch (code) {
    case 'NOT_FOUND':
      return 'NOT_FOUND';
    case 'FORBIDDEN':
      return 'FORBIDDEN';
    case 'UNAUTHENTICATED':
      return 'UNAUTHORIZED';
    case 'BAD_INPUT':
      return 'BAD_REQUEST';
    case 'CONFLICT':
      return 'CONFLICT';
    case 'QUOTA_EXCEEDED':
      return 'PRECONDITION_FAILED';
    case 'PAYLOAD_TOO_LARGE':
      return 'PAYLOAD_TOO_LARGE';
    case 'RATE_LIMITED':
      return 'TOO_MANY_REQUESTS';
    case 'UNAVAILABLE':
      return 'SERVICE_UNAVAILABLE';
    case 'INTERNAL':
      return 'INTERNAL_SERVER_ERROR';
  }
}
