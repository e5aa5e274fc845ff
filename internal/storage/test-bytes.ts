/** Byte helpers shared by the storage tests: deterministic data, streams over it, errors expected. */
import { createCipheriv, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { AppError } from '../platform/errors.ts';
import type { ObjectStore } from './object-store.ts';

/** `length` pseudo-random bytes, the same for the same seed (AES-CTR keystream). */
export function pseudoRandom(seed: string, length: number): Buffer {
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return cipher.update(Buffer.alloc(length));
}

/** A byte stream over `data` in chunks, as a socket would deliver it. */
export function bodyOf(data: Buffer, chunkBytes = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += chunkBytes) yield data.subarray(i, i + chunkBytes);
    })(),
    { objectMode: false },
  );
}

export const textBody = (data: string): Readable => Readable.from([Buffer.from(data)]);

export async function collect(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The AppError a promise rejects with (the test fails when it resolves or throws anything else). */
export async function appErrorOf(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

/** Every kind of call to a store whose endpoint does not answer is UNAVAILABLE backend_unreachable. */
export async function expectUnreachable(down: ObjectStore): Promise<void> {
  // Thunks, called one at a time: a rejected promise must never wait unobserved for its turn.
  for (const attempt of [
    () => down.put('k', bodyOf(Buffer.from('abc')), 3),
    () => down.get('k'),
    () => down.head('k'),
    () => down.createMultipart('k'),
    () => down.listMultipartUploads(),
    () => down.delete('k'),
  ]) {
    expect(await appErrorOf(attempt())).toMatchObject({ code: 'UNAVAILABLE', details: { reason: 'backend_unreachable' } });
  }
}
