/** The one contract every JobQueue passes (run from queue.test.ts against RabbitMQ and in process). */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../errors.ts';
import type { Consumer, DeadLetter, JobQueue, QueueMessage } from './queue.ts';

/** Short delays so a job runs out of retries within a test. */
export const CONTRACT_DELAYS_MS = [150, 300];
/** Deliveries of one attempt that may end unfinished (consumer gone) before the dead-letter queue. */
export const CONTRACT_MAX_DELIVERIES = 3;

/** `stop` must give up a handler that never finishes; today's code waiting for ever fails here, not by timeout. */
async function stopWithin(consumer: Consumer, graceMs: number): Promise<void> {
  const gaveUp = consumer.stop({ graceMs }).then(() => true);
  const stuck = sleep(graceMs + 3_000).then(() => false);
  if (!(await Promise.race([gaveUp, stuck]))) throw new Error(`stop({ graceMs: ${graceMs} }) still waits for an unfinished handler`);
}

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
      expect(dead).toEqual([{ id: 'p1', body: { job: 'poison' }, attempts: 3, reason: 'retries_exhausted', lastError: 'UNAVAILABLE: backend down (run 3)' }]);
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
      expect((await queue.peekDead(1))[0]).toMatchObject({ attempts: 1, reason: 'permanent_error', lastError: 'BAD_INPUT: not a job' });
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

    it('a job whose consumer goes away unfinished every time is delivered at most the limit, then dead-lettered with delivery_limit', async () => {
      const queue = await fresh();
      await queue.publish({ job: 'crasher' }, { messageId: 'c1' });
      const deliveries: { attempt: number; redelivered: boolean }[] = [];
      // Each round is one worker that takes the job and never finishes it (as if its process
      // died): its consumer is closed with the handler still running.
      for (let round = 1; round <= CONTRACT_MAX_DELIVERIES; round++) {
        const consumer = await queue.consume((m) => {
          deliveries.push({ attempt: m.attempt, redelivered: m.redelivered });
          return new Promise<void>(() => undefined);
        }, { prefetch: 1 });
        await expect.poll(() => deliveries.length, { timeout: 10_000 }).toBe(round);
        await stopWithin(consumer, 0);
      }
      expect(deliveries).toEqual([
        { attempt: 1, redelivered: false },
        ...Array.from({ length: CONTRACT_MAX_DELIVERIES - 1 }, () => ({ attempt: 1, redelivered: true })),
      ]);
      // A healthy worker never runs it again; its owner hears why it was dead-lettered.
      const ran: unknown[] = [];
      const heard: DeadLetter[] = [];
      const healthy = await queue.consume(async (m) => void ran.push(m.body), { prefetch: 1, onDeadLetter: async (d) => void heard.push(d) });
      await expect.poll(async () => (await queue.depth()).dead, { timeout: 10_000 }).toBe(1);
      const expected = {
        id: 'c1', body: { job: 'crasher' }, attempts: 1, reason: 'delivery_limit',
        lastError: `delivery_limit: delivered ${CONTRACT_MAX_DELIVERIES} times, never finished (worker crashed, killed or disconnected)`,
      };
      expect(await queue.peekDead(10)).toEqual([expected]);
      expect(heard).toEqual([expected]);
      expect(ran).toEqual([]);
      expect(await queue.depth()).toEqual({ ready: 0, retrying: 0, dead: 1 });
      // The limit counts deliveries of one job only: the next job runs as usual.
      await queue.publish({ job: 'fine' });
      await expect.poll(() => ran).toEqual([{ job: 'fine' }]);
      await healthy.stop();
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
