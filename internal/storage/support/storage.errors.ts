/**
 * Builders for the AppErrors every ObjectStore driver throws, so a reason reads the same from each
 * driver. `details.reason` strings are part of the contract (object-store.contract.ts): never rename.
 */
import { AppError, type ErrorReason } from '../../platform/errors.ts';

/** BAD_INPUT with the contract's machine-readable `details.reason`. */
export function badInput(reason: ErrorReason, message: string, cause?: unknown): AppError {
  return new AppError('BAD_INPUT', message, { details: { reason }, ...(cause === undefined ? {} : { cause }) });
}

/** UNAVAILABLE: the backend cannot serve the request now (the request itself is fine). */
export function unavailable(message: string, details?: Record<string, unknown>, cause?: unknown): AppError {
  return new AppError('UNAVAILABLE', message, { ...(details === undefined ? {} : { details }), ...(cause === undefined ? {} : { cause }) });
}

export function notFoundKey(key: string): AppError {
  return new AppError('NOT_FOUND', 'object not found', { details: { key } });
}

export function notFoundUpload(uploadId: string): AppError {
  return new AppError('NOT_FOUND', 'multipart upload not found', { details: { uploadId } });
}

/** Runs `run`, throwing whatever it fails with through `map` (a driver's backend-error mapping). */
export async function mapErrors<T>(run: () => Promise<T>, map: (error: unknown) => AppError): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw map(error);
  }
}

/** `head`'s rule: a missing object is null, any other failure stands. */
export async function nullIfNotFound<T>(pending: Promise<T>): Promise<T | null> {
  try {
    return await pending;
  } catch (error) {
    if (AppError.is(error, 'NOT_FOUND')) return null;
    throw error;
  }
}
