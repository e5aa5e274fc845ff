import { createHash, randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { DigestPool } from './digest-pool.ts';

const pool = new DigestPool({ threads: 2, segmentBytes: 64 * 1024, segmentsPerJob: 2 });
afterAll(() => pool.close());

function expected(data: Buffer, blockSize: number) {
  const blocks: string[] = [];
  for (let at = 0; at < data.length; at += blockSize) blocks.push(createHash('sha256').update(data.subarray(at, at + blockSize)).digest('hex'));
  return { md5: createHash('md5').update(data).digest('hex'), blocks };
}

async function digestInPieces(data: Buffer, blockSize: number, piece: number) {
  const job = pool.job(blockSize);
  for (let at = 0; at < data.length; at += piece) await job.update(data.subarray(at, at + piece));
  const done = await job.finish();
  return { md5: done.md5.toString('hex'), blocks: done.blocks.map((b) => b.toString('hex')), bytes: done.bytes };
}

describe('DigestPool', () => {
  it.each([
    ['empty', 0, 100_000, 1000],
    ['one byte', 1, 100_000, 1],
    ['exactly one block', 100_000, 100_000, 7_777],
    ['blocks and a short last one, pieces across segment and block edges', 1_234_567, 100_000, 65_537],
    ['pieces larger than a segment', 700_000, 300_000, 200_000],
  ])('%s: the same MD5 and block SHA-256s as hashing on the event loop', async (_name, size, blockSize, piece) => {
    const data = randomBytes(size);
    expect(await digestInPieces(data, blockSize, piece)).toEqual({ ...expected(data, blockSize), bytes: size });
  });

  it('keeps concurrent jobs apart (each job stays on one worker, in order)', async () => {
    const inputs = Array.from({ length: 6 }, (_, i) => randomBytes(300_000 + i * 10_001));
    const results = await Promise.all(inputs.map((data, i) => digestInPieces(data, 50_000, 9_000 + i * 1_000)));
    results.forEach((result, i) => expect(result).toEqual({ ...expected(inputs[i]!, 50_000), bytes: inputs[i]!.length }));
  });

  it('holds a stream back instead of queueing it: a job never has more than its segments at the worker', async () => {
    const job = pool.job(1024 * 1024);
    const big = randomBytes(2 * 1024 * 1024);
    // 2 MiB through a job of 2 × 64 KiB segments: update() only resolves once segments came back.
    await job.update(big);
    const done = await job.finish();
    expect(done.md5.toString('hex')).toBe(createHash('md5').update(big).digest('hex'));
  });

  it('an aborted job refuses further bytes and leaves the pool usable', async () => {
    const job = pool.job(1000);
    await job.update(randomBytes(5000));
    job.abort();
    await expect(job.update(randomBytes(10))).rejects.toThrow(/aborted/);
    await expect(job.finish()).rejects.toThrow(/aborted/);
    const data = randomBytes(4321);
    expect(await digestInPieces(data, 1000, 333)).toEqual({ ...expected(data, 1000), bytes: 4321 });
  });

  it('a worker that dies fails its jobs with an error, and the next job gets a new worker', async () => {
    const lone = new DigestPool({ threads: 1 });
    try {
      const job = lone.job(1000);
      await job.update(randomBytes(10));
      // @ts-expect-error -- reaching into the pool to kill its thread, as a crash would
      await (lone.threads[0].worker as Worker).terminate();
      await expect(job.finish()).rejects.toThrow(/exited/);
      const next = lone.job(1000);
      await next.update(Buffer.from('abc'));
      expect((await next.finish()).md5.toString('hex')).toBe(createHash('md5').update('abc').digest('hex'));
    } finally {
      await lone.close();
    }
  });
});
