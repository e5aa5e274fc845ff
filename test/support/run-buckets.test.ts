/**
 * The run's own S3 buckets (test/support/run-buckets.ts) against the real RGW: the tests of a run
 * write to buckets of that run, and its end removes them with everything in them — more objects
 * than one listing page, open multipart uploads — while another run's buckets, going on at the
 * same time, keep theirs; a run killed before its end is swept once stale, and only then.
 * The bases here are names of this test's own, so no real run's buckets are ever in reach.
 * The benchmarks' variant (runBucketsUntilExit) also removes them when a signal stops the process.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:os';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, CreateMultipartUploadCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketUsage } from './bucket-usage.ts';
import { testEnv } from './env.ts';
import { baseOf, removeBucket, rgwClient, runBucketsUntilExit, STALE_MS, startRunBuckets, sweepStaleRunBuckets } from './run-buckets.ts';

const client: S3Client = rgwClient();
const made: string[] = [];
afterAll(async () => {
  for (const bucket of made) await removeBucket(client, bucket);
  client.destroy();
});

const base = () => `stratus-rb-${randomBytes(3).toString('hex')}`;
const exists = (bucket: string) => client.send(new HeadBucketCommand({ Bucket: bucket })).then(() => true, (error: { name?: string }) => (error.name === 'NotFound' ? false : Promise.reject(error)));
const put = (bucket: string, key: string) => client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key }));

async function putMany(bucket: string, count: number): Promise<void> {
  const keys = Array.from({ length: count }, (_, i) => `blobs/${(i % 256).toString(16).padStart(2, '0')}/${i}-${randomBytes(4).toString('hex')}`);
  for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => put(bucket, key)));
}

describe('the run\'s S3 buckets', () => {
  it('this run\'s tests get buckets of their own, which exist, not the shared test buckets', async () => {
    const { bucket, bucket2 } = testEnv.s3;
    // `<TEST_S3_BUCKET>-run-<id>` and `<TEST_S3_BUCKET_2>-run-<id>`: two bases, one run id.
    const [, base1, id1] = /^(.+)-run-([0-9a-z]+-[0-9a-f]+)$/.exec(bucket) ?? [];
    const [, base2, id2] = /^(.+)-run-([0-9a-z]+-[0-9a-f]+)$/.exec(bucket2) ?? [];
    expect([base1, base2].every((b) => b !== undefined && !b.includes('-run-'))).toBe(true);
    expect(base1).not.toBe(base2);
    expect(id1).toBe(id2);
    expect([await exists(bucket), await exists(bucket2)]).toEqual([true, true]);
  });

  it('a run\'s end removes its buckets, objects (over 1000) and open multipart uploads; another run\'s stay whole', async () => {
    const bases = [base(), base()];
    const run = await startRunBuckets(client, bases);
    const other = await startRunBuckets(client, bases);
    made.push(...run.buckets, ...other.buckets);
    const [first, second] = run.buckets as [string, string];
    await putMany(first, 1010);
    await put(second, 'thumbnails/ab/x-1/small.webp');
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: first, Key: 'blobs/cd/open' }));
    await client.send(new UploadPartCommand({ Bucket: first, Key: 'blobs/cd/open', UploadId, PartNumber: 1, Body: Buffer.alloc(5 * 1024 * 1024) }));
    await put(other.buckets[0]!, 'blobs/ef/kept');
    await client.send(new CreateMultipartUploadCommand({ Bucket: other.buckets[0]!, Key: 'blobs/ef/open' }));
    expect(await bucketUsage(client, first)).toMatchObject({ objects: 1010, multipartUploads: 1 });

    await run.teardown();
    expect([await exists(first), await exists(second)]).toEqual([false, false]);
    expect(await bucketUsage(client, other.buckets[0]!)).toMatchObject({ objects: 1, multipartUploads: 1 });
    expect((await client.send(new ListObjectsV2Command({ Bucket: other.buckets[0]! }))).Contents?.map((o) => o.Key)).toEqual(['blobs/ef/kept']);
    await other.teardown();
    expect([await exists(other.buckets[0]!), await exists(other.buckets[1]!)]).toEqual([false, false]);
  }, 120_000);

  it('sweeps the buckets of a run killed before its end once they are stale, never a live run\'s or a bucket not of a run', async () => {
    const bases = [base()];
    const killed = await startRunBuckets(client, bases);
    const bucket = killed.buckets[0]!;
    const notOfRun = `${bases[0]!}-run-by-hand`;
    made.push(bucket, notOfRun);
    await client.send(new CreateBucketCommand({ Bucket: notOfRun }));
    await put(bucket, 'blobs/01/left');
    expect(await sweepStaleRunBuckets(client, bases)).toEqual([]);
    expect(await exists(bucket)).toBe(true);
    expect(await sweepStaleRunBuckets(client, bases, Date.now() + STALE_MS + 60_000)).toEqual([bucket]);
    expect([await exists(bucket), await exists(notOfRun)]).toEqual([false, true]);
  }, 60_000);

  it('a process that vitest does not run (the benchmarks) removes its buckets at its end, and the variables are as before', async () => {
    const bases = [base(), base()];
    const before = [process.env.TEST_S3_BUCKET, process.env.TEST_S3_BUCKET_2];
    const listeners = [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];
    process.env.TEST_S3_BUCKET = bases[0];
    process.env.TEST_S3_BUCKET_2 = bases[1];
    try {
      const remove = await runBucketsUntilExit();
      const buckets = [testEnv.s3.bucket, testEnv.s3.bucket2];
      made.push(...buckets);
      expect(buckets.map(baseOf)).toEqual(bases);
      expect([await exists(buckets[0]!), await exists(buckets[1]!)]).toEqual([true, true]);
      await put(buckets[0]!, 'blobs/01/written');
      await remove();
      expect([await exists(buckets[0]!), await exists(buckets[1]!)]).toEqual([false, false]);
      expect([process.env.TEST_S3_BUCKET, process.env.TEST_S3_BUCKET_2]).toEqual(bases);
      expect([process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')]).toEqual(listeners);
    } finally {
      (['TEST_S3_BUCKET', 'TEST_S3_BUCKET_2'] as const).forEach((name, i) => {
        if (before[i] === undefined) delete process.env[name];
        else process.env[name] = before[i];
      });
    }
  }, 60_000);

  // A child process that makes its buckets, writes to one, prints their names and waits to be stopped.
  const CHILD = `
    import { PutObjectCommand } from '@aws-sdk/client-s3';
    import { rgwClient, runBucketsUntilExit } from './test/support/run-buckets.ts';
    await runBucketsUntilExit();
    const buckets = [process.env.TEST_S3_BUCKET, process.env.TEST_S3_BUCKET_2];
    await rgwClient().send(new PutObjectCommand({ Bucket: buckets[0], Key: 'blobs/02/written', Body: 'x' }));
    console.log(JSON.stringify(buckets));
    setInterval(() => undefined, 1000);
  `;

  it.each(['SIGINT', 'SIGTERM'] as const)('a benchmark stopped by %s removes its buckets before it exits, as the signal would have ended it', async (signal) => {
    const bases = [base(), base()];
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
      cwd: testEnv.root,
      env: { ...process.env, TEST_S3_BUCKET: bases[0], TEST_S3_BUCKET_2: bases[1], AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exit = once(child, 'exit');
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const buckets = JSON.parse(line) as [string, string];
    made.push(...buckets);
    expect(buckets.map(baseOf)).toEqual(bases);
    expect(await bucketUsage(client, buckets[0])).toMatchObject({ objects: 1 });
    child.kill(signal);
    expect(await exit).toEqual([128 + constants.signals[signal], null]);
    expect([await exists(buckets[0]), await exists(buckets[1])]).toEqual([false, false]);
  }, 60_000);
});
