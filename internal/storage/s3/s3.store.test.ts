import { createHash, randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../../test/support/env.ts';
import { AppError } from '../../platform/errors.ts';
import { objectStoreContract } from '../object-store.contract.ts';
import { bodyOf } from '../test-bytes.ts';
import { S3ObjectStore } from './s3.store.ts';
import { contentDisposition } from '../support/content-disposition.ts';

const storeOn = (endpoint: string, leanGetMinBytes?: number, other: { bucket?: string; secretAccessKey?: string } = {}) =>
  new S3ObjectStore({
    ...(leanGetMinBytes === undefined ? {} : { leanGetMinBytes }),
    name: 'ceph-test',
    endpoint,
    region: testEnv.s3.region,
    bucket: other.bucket ?? testEnv.s3.bucket,
    accessKeyId: testEnv.s3.accessKeyId,
    secretAccessKey: other.secretAccessKey ?? testEnv.s3.secretAccessKey,
  });

objectStoreContract('ceph', async () => ({ store: storeOn(testEnv.s3.endpoint) }));
// Every GET over lean-get.ts (a socket with 1 MiB reads; big downloads take it by default), the
// refusals (404, 416) asked again through the SDK: the same contract.
objectStoreContract('ceph, every GET lean', async () => ({ store: storeOn(testEnv.s3.endpoint, 0) }));

describe('S3ObjectStore', () => {
  const real = storeOn(testEnv.s3.endpoint);
  const down = storeOn('http://127.0.0.1:9');
  const key = `s3-store-test/${randomBytes(6).toString('hex')}`;
  afterAll(async () => {
    await real.delete(key);
    await real.close();
    await down.close();
  });

  const failure = async (promise: Promise<unknown>) => {
    const started = performance.now();
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    return { error, seconds: (performance.now() - started) / 1000 };
  };

  it('is UNAVAILABLE within seconds when the endpoint cannot be reached, and writes nothing', async () => {
    for (const attempt of [
      () => down.put(key, bodyOf(Buffer.from('never stored')), 12),
      () => down.head(key),
      () => down.get(key),
      () => down.createMultipart(key),
      () => down.uploadPart(key, 'no-such-upload', 1, bodyOf(Buffer.alloc(10)), 10),
      () => down.listMultipartUploads('s3-store-test/'),
      () => down.delete(key),
    ]) {

      const { error, seconds } = await failure(attempt());
      expect(AppError.is(error, 'UNAVAILABLE'), String(error)).toBe(true);
      expect(seconds).toBeLessThan(5);
    }
    expect(await real.head(key)).toBeNull();
    // Signing needs no connection, so a presigned URL is still produced.
    expect(await down.presignGet(key, { expiresInSeconds: 60 })).toMatch(/^http:\/\/127\.0\.0\.1:9\//);
  });

  it("checks the ETag against the caller's MD5 when one is given (BodyOptions.md5), and refuses a mismatch", async () => {
    const bytes = randomBytes(64 * 1024);
    const right = createHash('md5').update(bytes).digest();
    expect((await real.put(key, bodyOf(bytes), bytes.length, { md5: () => right })).etag).toBe(right.toString('hex'));
    // An MD5 that is not the body's: the driver compared against it (it did not hash again).
    const wrong = createHash('md5').update('other bytes').digest();
    const { error } = await failure(real.put(key, bodyOf(bytes), bytes.length, { md5: () => wrong }));
    expect(AppError.is(error, 'UNAVAILABLE')).toBe(true);
    expect((error as AppError).details).toMatchObject({ reason: 'digest-mismatch' });
    const uploadId = await real.createMultipart(key);
    try {
      const part = await failure(real.uploadPart(key, uploadId, 1, bodyOf(bytes), bytes.length, { md5: () => wrong }));
      expect((part.error as AppError).details).toMatchObject({ reason: 'digest-mismatch' });
      expect((await real.uploadPart(key, uploadId, 1, bodyOf(bytes), bytes.length, { md5: () => right })).etag).toBe(right.toString('hex'));
    } finally {
      await real.abortMultipart(key, uploadId);
    }
  });

  // Single PUTs are signed and sent by lean-put.ts, not the SDK: RGW's refusals must read as the
  // SDK's did (s3-errors.ts), and keys of any characters must sign and land as given.
  it('maps refused PUTs as before: bad credentials UNAVAILABLE, no bucket NOT_FOUND, too long a key BAD_INPUT', async () => {
    const wrongSecret = storeOn(testEnv.s3.endpoint, undefined, { secretAccessKey: 'not-the-secret' });
    const noBucket = storeOn(testEnv.s3.endpoint, undefined, { bucket: `no-such-bucket-${randomBytes(4).toString('hex')}` });
    const refused = `s3-store-test/refused-${randomBytes(6).toString('hex')}`;
    try {
      const denied = await failure(wrongSecret.put(refused, bodyOf(Buffer.from('x')), 1));
      expect(AppError.is(denied.error, 'UNAVAILABLE'), String(denied.error)).toBe(true);
      expect((denied.error as AppError).details).toMatchObject({ s3: 'SignatureDoesNotMatch', op: 'upload' });
      const missing = await failure(noBucket.put(refused, bodyOf(Buffer.from('x')), 1));
      expect(AppError.is(missing.error, 'NOT_FOUND'), String(missing.error)).toBe(true);
      expect((missing.error as AppError).details).toMatchObject({ s3: 'NoSuchBucket' });
      // "The name for a key … up to 1,024 bytes long" (S3 User Guide: Naming objects).
      const long = await failure(real.put(`s3-store-test/${'k'.repeat(1100)}`, bodyOf(Buffer.from('x')), 1));
      expect(AppError.is(long.error, 'BAD_INPUT'), String(long.error)).toBe(true);
      expect(await real.head(refused)).toBeNull();
    } finally {
      await wrongSecret.close();
      await noBucket.close();
    }
  });

  it('signs and stores keys with spaces, reserved and non-ASCII characters as given', async () => {
    const odd = `s3-store-test/${randomBytes(3).toString('hex')}/a b+c=d&e!'()*~é漢 %2F.txt`;
    const bytes = randomBytes(1000);
    try {
      const put = await real.put(odd, bodyOf(bytes), bytes.length, { contentType: 'text/plain; charset=utf-8' });
      expect(put.etag).toBe(createHash('md5').update(bytes).digest('hex'));
      expect(await real.head(odd)).toMatchObject({ size: 1000, contentType: 'text/plain; charset=utf-8' });
      const { body } = await real.get(odd);
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    } finally {
      await real.delete(odd);
    }
  });

  // The lean GET lends its pooled 1 MiB read buffers only to a caller that gives them back: any
  // other caller (one that buffers a body, say) gets a copy of each read, as big as the read.
  it('lends pooled read buffers only when asked (GetOptions.pooled), and takes them back through release', async () => {
    const big = `s3-store-test/${randomBytes(3).toString('hex')}/pooled.bin`;
    const bytes = randomBytes(12 * 1024 * 1024);
    const lean = storeOn(testEnv.s3.endpoint, 1);
    const chunksOf = async (pooled: boolean) => {
      const got = await lean.get(big, undefined, { expectedBytes: bytes.length, pooled });
      const chunks: Buffer[] = [];
      got.body.on('data', (chunk: Buffer) => chunks.push(chunk));
      await new Promise((resolve, reject) => got.body.once('end', resolve).once('error', reject));
      return { chunks, release: got.release };
    };
    try {
      await real.put(big, bodyOf(bytes), bytes.length);
      const copied = await chunksOf(false);
      expect(copied.release).toBeUndefined();
      expect(Buffer.concat(copied.chunks).equals(bytes)).toBe(true);
      // Each read after the first (whose tail comes out of the head's buffer) copied into memory of
      // its own, exactly its size.
      expect(copied.chunks.slice(1).filter((c) => c.length > 4096).every((c) => c.buffer.byteLength === c.length)).toBe(true);
      const first = await chunksOf(true);
      expect(first.release).toBeTypeOf('function');
      expect(Buffer.concat(first.chunks).equals(bytes)).toBe(true);
      const lent = new Set(first.chunks.map((c) => c.buffer));
      for (const chunk of first.chunks) first.release?.(chunk);
      // Given back, the same memory is read into again by the next GET.
      const second = await chunksOf(true);
      expect(Buffer.concat(second.chunks).equals(bytes)).toBe(true);
      expect(second.chunks.some((c) => lent.has(c.buffer))).toBe(true);
      for (const chunk of second.chunks) second.release?.(chunk);
    } finally {
      await real.delete(big);
      await lean.close();
    }
  });

  it('formats Content-Disposition per RFC 6266 / RFC 5987', () => {
    expect(contentDisposition('report.pdf')).toBe(`attachment; filename="report.pdf"; filename*=UTF-8''report.pdf`);
    expect(contentDisposition(`naïve "q" (1)*'.txt`)).toBe(
      `attachment; filename="na_ve _q_ (1)*'.txt"; filename*=UTF-8''na%C3%AFve%20%22q%22%20%281%29%2A%27.txt`,
    );
  });
});
