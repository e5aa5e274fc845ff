/** S3 SDK failures (any S3 API; tested against Ceph RGW 16) as the ObjectStore contract's AppErrors. */
import { AppError, type ErrorReason } from '../../platform/errors.ts';
import { VENDOR_BAD_INPUT_REASONS } from '../support/vendor-errors.ts';

const NOT_FOUND_NAMES = new Set(['NoSuchKey', 'NotFound', 'NoSuchUpload', 'NoSuchBucket']);
/** S3 error code -> contract reason, for the requests the backend refuses as invalid. */
const BAD_INPUT_REASONS: Readonly<Record<string, ErrorReason>> = { ...VENDOR_BAD_INPUT_REASONS, KeyTooLongError: 'key-too-long' };
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Maps an SDK failure to the contract's codes by the error's `name` (RGW error bodies have no
 * Message, so SDK messages read "UnknownError") and its HTTP status.
 */
export function mapS3Error(error: unknown, where: { store: string; op: string; key: string }): AppError {
  if (AppError.is(error)) return error;
  const e = (error ?? {}) as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const details = { store: where.store, op: where.op, key: where.key, s3: name || e.code };
  const reason = BAD_INPUT_REASONS[name];
  if (reason) return new AppError('BAD_INPUT', `${where.op}: ${name}`, { cause: error, details: { ...details, reason } });
  if (NOT_FOUND_NAMES.has(name) || status === 404) {
    return new AppError('NOT_FOUND', `${where.op}: ${where.key} not found`, { cause: error, details });
  }
  if (isRefusal(status)) {
    return new AppError('BAD_INPUT', `${where.op}: ${name || status}`, { cause: error, details: { ...details, reason: 'refused' } });
  }
  // 5xx, 429 SlowDown, 403 (this store's credentials are refused: an operator must act, the
  // request itself is fine), timeouts and socket errors: the store cannot serve us now.
  if (status !== undefined || isNetworkFailure(e)) {
    return new AppError('UNAVAILABLE', `${where.op}: object store ${where.store} is unavailable`, { cause: error, details });
  }
  return new AppError('INTERNAL', `${where.op} failed`, { cause: error, details });
}

/** A 4xx other than 403 (credentials) and 429 (slow down): the backend refuses the request itself. */
const isRefusal = (status: number | undefined): boolean => status !== undefined && status >= 400 && status < 500 && status !== 403 && status !== 429;

const isNetworkFailure = (e: { name?: string; code?: string }): boolean =>
  NETWORK_CODES.has(e.code ?? '') || e.name === 'TimeoutError' || e.name === 'AbortError';
