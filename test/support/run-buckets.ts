/**
 * Two S3 buckets of its own for each test run (vitest globalSetup of the configs that use the
 * services: vitest.config.ts and vitest.faults.config.ts, not the fast tier). The suites never
 * deleted what they stored in the shared test buckets, and over many runs those filled the small
 * one-host OSD (26 GiB, 7 400 objects) until writes, and the benchmarks, failed for want of space.
 *
 * Why buckets and not a key prefix: the app under test picks its own keys (`blobs/xx/<uuid>`,
 * `thumbnails/...`) and its storage routing has no prefix option; and a sweep of the shared bucket
 * by date would delete the objects of a run or a benchmark going on at the same time. So the run
 * creates `<TEST_S3_BUCKET>-run-<id>` and `<TEST_S3_BUCKET_2>-run-<id>` and points those variables
 * at them; the workers inherit this process's environment, so `testEnv.s3` (and `cephBackend()`)
 * give every test the run's buckets. When the run ends, passed or failed, the buckets go with every
 * object and open multipart upload in them. A run that was killed leaves its buckets: a later run
 * removes the run buckets created more than STALE_MS ago. The benchmarks make theirs the same way
 * (runBucketsUntilExit), and also remove them when SIGINT or SIGTERM stops the run.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { testEnv } from './env.ts';

/** Longer than any run lasts (the whole suite: ~12 min), so no live run loses its buckets. */
export const STALE_MS = 6 * 3600 * 1000;
const VARIABLES = ['TEST_S3_BUCKET', 'TEST_S3_BUCKET_2'] as const;
const RUN_SUFFIX = /-run-[0-9a-z]+-[0-9a-f]+$/;

/** The shared bucket a run bucket stands for: `stratus-test` for `stratus-test-run-<id>`. */
export const baseOf = (bucket: string): string => bucket.replace(RUN_SUFFIX, '');

/**
 * The test RGW's client settings, as the server's S3ObjectStore has them: RGW 16 answers 411 to the
 * SDK's default chunked bodies with trailing checksums, so checksums only WHEN_REQUIRED. The
 * benchmarks' direct client takes them too (bench/lib/stack.ts).
 */
export function rgwClientConfig(): S3ClientConfig {
  const s3 = testEnv.s3;
  return {
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export const rgwClient = (): S3Client => new S3Client(rgwClientConfig());

const errorName = (error: unknown) => (error as { name?: string }).name ?? '';

/** Aborts the bucket's open multipart uploads (their parts hold space until then). */
async function abortMultipartUploads(client: S3Client, bucket: string): Promise<void> {
  // Each pass lists from the start: the aborted ones are gone from the listing.
  for (let previous: string | undefined; ; ) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    const uploads = page.Uploads ?? [];
    if (uploads.length === 0) return;
    if (uploads[0]?.UploadId === previous) throw new Error(`multipart upload ${previous} of ${bucket} is still listed after its abort`);
    previous = uploads[0]?.UploadId;
    await Promise.all(uploads.map((u) => client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId })).catch((error: unknown) => {
      if (errorName(error) !== 'NoSuchUpload') throw error;
    })));
  }
}

/** Deletes every object, 1000 (one listing page, one DeleteObjects) at a time. */
async function deleteObjects(client: S3Client, bucket: string): Promise<void> {
  for (let previous: string | undefined; ; ) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
    if (keys.length === 0) return;
    // Listed again after its deletion: stop rather than loop (the error leaves it to the sweep).
    if (keys[0]?.Key === previous) throw new Error(`${bucket}/${previous} is still listed after its deletion`);
    previous = keys[0]?.Key;
    const out = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
    const failed = out.Errors ?? [];
    if (failed.length > 0) throw new Error(`deleting ${failed.length} object(s) of ${bucket} failed: ${failed[0]?.Code} ${failed[0]?.Message}`);
  }
}

/** Empties the bucket and deletes it; a bucket already gone is fine (two runs may sweep it). */
export async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  // A process the run started may still be finishing a write: empty again when the bucket is not.
  for (let attempt = 1; ; attempt++) {
    try {
      await abortMultipartUploads(client, bucket);
      await deleteObjects(client, bucket);
      await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      return;
    } catch (error) {
      if (errorName(error) === 'NoSuchBucket') return;
      if (attempt >= 3 || errorName(error) !== 'BucketNotEmpty') throw error;
    }
  }
}

/** Removes the run buckets of these bases created more than `staleMs` before `now`; returns their names. */
export async function sweepStaleRunBuckets(client: S3Client, bases: readonly string[], now = Date.now(), staleMs = STALE_MS): Promise<string[]> {
  const { Buckets = [] } = await client.send(new ListBucketsCommand({}));
  const stale = Buckets.filter((b) => {
    const name = b.Name ?? '';
    const ofRun = RUN_SUFFIX.test(name) && bases.includes(baseOf(name));
    return ofRun && b.CreationDate !== undefined && now - b.CreationDate.getTime() > staleMs;
  }).map((b) => b.Name ?? '');
  for (const bucket of stale) await removeBucket(client, bucket);
  return stale;
}

export interface RunBuckets {
  /** One per base, in the same order. */
  buckets: string[];
  /** Removes the buckets with everything in them. */
  teardown(): Promise<void>;
}

/** Creates `<base>-run-<id>` for each base (S3 allows 63 characters: bases up to 45). */
export async function startRunBuckets(client: S3Client, bases: readonly string[]): Promise<RunBuckets> {
  const id = `${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
  const buckets = bases.map((base) => `${base}-run-${id}`);
  for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    buckets,
    teardown: async () => {
      for (const bucket of buckets) await removeBucket(client, bucket);
    },
  };
}

export default async function setup(): Promise<() => Promise<void>> {
  const client = rgwClient();
  const bases = [testEnv.s3.bucket, testEnv.s3.bucket2];
  await sweepStaleRunBuckets(client, bases).catch((error: unknown) => console.warn(`run-buckets: sweeping stale run buckets failed: ${String(error)}`));
  const run = await startRunBuckets(client, bases);
  const previous = VARIABLES.map((name) => process.env[name]);
  VARIABLES.forEach((name, i) => (process.env[name] = run.buckets[i]));
  return async () => {
    VARIABLES.forEach((name, i) => {
      const value = previous[i];
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    });
    // Not thrown: the run's result stands; the buckets are then left to a later run's sweep.
    await run.teardown().catch((error: unknown) => console.warn(`run-buckets: removing ${run.buckets.join(', ')} failed: ${String(error)}`));
    client.destroy();
  };
}

/**
 * The run's buckets for a process that vitest does not run (the benchmarks: bench/run.ts and the
 * bench/profile scripts that start a server): made, and the variables pointed at them, as setup()
 * does; removed by the returned function, or when SIGINT or SIGTERM stops the process, which then
 * exits as the signal would have ended it (128 + its number). Until they are gone the interrupted
 * work goes on: what it still writes is emptied again by removeBucket or fails for want of a bucket.
 * A second signal of the same kind ends the process at once (the listener is a `once`), leaving
 * the buckets to the sweep.
 */
export async function runBucketsUntilExit(): Promise<() => Promise<void>> {
  const teardown = await setup();
  let removal: Promise<void> | undefined;
  const remove = () => (removal ??= teardown());
  const onSignal = (signal: NodeJS.Signals) => {
    void remove().finally(() => process.exit(128 + (constants.signals[signal] ?? 0)));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    return remove();
  };
}
