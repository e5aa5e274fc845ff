/** Filesystem failures of the local store as the ObjectStore contract's AppErrors. */
import { readFile } from 'node:fs/promises';
import { AppError } from '../../platform/errors.ts';
import { badInput, mapErrors, unavailable } from '../support/storage.errors.ts';

/** The disk is this store's backend: a path clash is the caller's, anything else makes it unavailable. */
export function fsError(error: unknown): AppError {
  if (AppError.is(error)) return error;
  if (isCode(error, 'ENOENT')) return new AppError('NOT_FOUND', 'not found', { cause: error });
  if (isCode(error, 'ENOTDIR', 'EISDIR', 'EEXIST', 'ENOTEMPTY')) {
    return badInput('key-conflict', 'a key cannot be both an object and a prefix of other keys', error);
  }
  return unavailable('local object store is unavailable', undefined, error);
}

export function fsCall<T>(run: () => Promise<T>): Promise<T> {
  return mapErrors(run, fsError);
}

export function isCode(error: unknown, ...codes: string[]): boolean {
  return typeof error === 'object' && error !== null && codes.includes((error as { code?: string }).code ?? '');
}

/** A JSON file, or null when it is missing or unreadable as JSON (a torn or foreign file). */
export async function readJson<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if (isCode(error, 'ENOENT', 'ENOTDIR') || error instanceof SyntaxError) return null;
    throw fsError(error);
  }
}
