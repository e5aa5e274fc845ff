/** The keyed queue: one reconcile per key at a time, coalesced re-runs, backoff, requeue. */
import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WorkQueue', () => {
  it('never runs one key twice at once, runs once more for events during a run, and runs keys in parallel', async () => {
    let running = 0;
    let maxSameKey = 0;
    const runs: string[] = [];
    const queue = new WorkQueue(async (key) => {
      if (key === 'a') maxSameKey = Math.max(maxSameKey, ++running);
      runs.push(key);
      await sleep(30);
      if (key === 'a') running--;
    });
    queue.enqueue('a');
    queue.enqueue('b');
    await sleep(5);
    for (let i = 0; i < 5; i++) queue.enqueue('a');
    await sleep(120);
    expect(maxSameKey).toBe(1);
    expect(runs.filter((k) => k === 'a')).toHaveLength(2);
    expect(runs.slice(0, 2).sort()).toEqual(['a', 'b']);
    await queue.stop();
  });

  it('retries failures with backoff and honours requeueAfter', async () => {
    const at: number[] = [];
    const start = Date.now();
    const queue = new WorkQueue(
      (key) => {
        at.push(Date.now() - start);
        if (key === 'fail' && at.length < 3) return Promise.reject(new Error('boom'));
        return Promise.resolve(at.length < 5 ? { requeueAfterMs: 20 } : {});
      },
      { baseRetryMs: 20 },
    );
    queue.enqueue('fail');
    await sleep(250);
    await queue.stop();
    expect(at.length).toBe(5);
    // 20 ms then 40 ms of backoff before the first success.
    expect(at[2] ?? 0).toBeGreaterThanOrEqual(55);
  });
});
