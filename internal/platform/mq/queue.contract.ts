/** The one contract every JobQueue passes (run from queue.test.ts against RabbitMQ and in process). */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import type { JobQueue, QueueMessage } from './queue.ts';

/** Short delays so a job runs out of retries within a test. */
export const CONTRACT_DELAYS_MS = [150, 300];

export function queueContract(name: string, make: () => Promise<JobQueue>, cleanup: (queue: JobQueue) => Promise<void> = (q) => q.close()) {
  describe(`JobQueue contract: ${name}`, () => {
    const open: JobQueue[] = [];
    const fresh = async () => {
      const queue = await make();
      open.push(queue);
      return queue;
    };
    afterEach(async () => {
      for (const queue of open.splice(0)) await cleanup(queue);
    });

    it('delivers a published job once, acked when the handler resolves', async () => {
      const queue = await fresh();
      const seen: QueueMessage[] = [];
      const consumer = await queue.consume(async (m) => void seen.push(m), { prefetch: 4 });
      await queue.publish({ hello: 'world' }, { messageId: 'm1' });
      await expect.poll(() => seen.length).toBe(1);
      await sleep(200);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({ id: 'm1', body: { hello: 'world' }, attempt: 1, finalAttempt: false, redelivered: false });
      await consumer.stop();
      expect(await queue.depth()).toEqual({ ready: 0, retrying: 0, dead: 0 });
    });

    it('keeps jobs published before anyone consumes', async () => {
      const queue = await fresh();
      for (let i = 0; i < 5; i++) await queue.publish({ i });
      await expect.poll(async () => (await queue.depth()).ready).toBe(5);
      const seen: number[] = [];
      const consumer = await queue.consume(async (m) => void seen.push((m.body as { i: number }).i), { prefetch: 10 });
      await expect.poll(() => seen.length).toBe(5);
      expect(seen.sort()).toEqual([0, 1, 2, 3, 4]);
      await consumer.stop();
    });

    it('never has more than `prefetch` handlers in flight', async () => {
      const queue = await fresh();
      let running = 0;
      let peak = 0;
      let done = 0;
      const consumer = await queue.consume(async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(50);
        running--;
        done++;
      }, { prefetch: 2 });
      await Promise.all(Array.from({ length: 8 }, (_, i) => queue.publish({ i })));
      await expect.poll(() => done, { timeout: 10_000 }).toBe(8);
      expect(peak).toBe(2);
      await consumer.stop();
    });

    it('retries with growing delays, then dead-letters the job with its last error', async () => {
      const queue = await fresh();
      const runs: { attempt: number; final: boolean; at: number }[] = [];
      const consumer = await queue.consume(async (m) => {
        runs.push({ attempt: m.attempt, final: m.finalAttempt, at: Date.now() });
        throw new AppError('UNAVAILABLE', `backend down (run ${m.attempt})`);
      }, { prefetch: 1 });
      await queue.publish({ job: 'poison' }, { messageId: 'p1' });
      await expect.poll(async () => (await queue.depth()).dead, { timeout: 10_000 }).toBe(1);
      expect(runs.map((r) => [r.attempt, r.final])).toEqual([[1, false], [2, false], [3, true]]);
      const gaps = runs.slice(1).map((r, i) => r.at - runs[i]!.at);
      expect(gaps[0]).toBeGreaterThanOrEqual(CONTRACT_DELAYS_MS[0]! - 20);
      expect(gaps[1]).toBeGreaterThanOrEqual(CONTRACT_DELAYS_MS[1]! - 20);
      const dead = await queue.peekDead(10);
      expect(dead).toEqual([{ id: 'p1', body: { job: 'poison' }, attempts: 3, lastError: 'UNAVAILABLE: backend down (run 3)' }]);
      // Peeking leaves it there.
      expect((await queue.depth()).dead).toBe(1);
      await consumer.stop();
    });

    it('dead-letters a permanent error at once', async () => {
      const queue = await fresh();
      let runs = 0;
      const consumer = await queue.consume(async () => {
        runs++;
        throw new AppError('BAD_INPUT', 'not a job');
      }, { prefetch: 1, isPermanent: (e) => AppError.is(e, 'BAD_INPUT') });
      await queue.publish({ bad: true });
      await expect.poll(async () => (await queue.depth()).dead).toBe(1);
      expect(runs).toBe(1);
      expect((await queue.peekDead(1))[0]).toMatchObject({ attempts: 1, lastError: 'BAD_INPUT: not a job' });
      await consumer.stop();
    });

    it('a job that fails once and then succeeds is not dead-lettered', async () => {
      const queue = await fresh();
      const attempts: number[] = [];
      const consumer = await queue.consume(async (m) => {
        attempts.push(m.attempt);
        if (m.attempt === 1) throw new Error('flaky');
      }, { prefetch: 1 });
      await queue.publish({ x: 1 });
      await expect.poll(() => attempts).toEqual([1, 2]);
      await sleep(100);
      expect(await queue.depth()).toEqual({ ready: 0, retrying: 0, dead: 0 });
      await consumer.stop();
    });

    it('stop waits for the handlers in flight', async () => {
      const queue = await fresh();
      let finished = false;
      let started = false;
      const consumer = await queue.consume(async () => {
        started = true;
        await sleep(200);
        finished = true;
      }, { prefetch: 1 });
      await queue.publish({});
      await expect.poll(() => started).toBe(true);
      await consumer.stop();
      expect(finished).toBe(true);
    });
  });
}
