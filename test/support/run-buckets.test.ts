/**
 * The run's own S3 buckets (test/support/run-buckets.ts) against the real RGW: the tests of a run
 * write to buckets of that run, and its end removes them with everything in them — more objects
 * than one listing page, open multipart uploads — while another run's buckets, going on at the
 * same time, keep theirs; a run killed before its end is swept once stale, and only then.
 * The bases here are names of this test's own, so no real run's buckets are ever in reach.
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, CreateMultipartUploadCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { bucketUsage } from './bucket-usage.ts';
import { testEnv } from './env.ts';
import { removeBucket, rgwClient, STALE_MS, startRunBuckets, sweepStaleRunBuckets } from './run-buckets.ts';

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
});
