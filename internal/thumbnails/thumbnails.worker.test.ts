/**
 * The worker on the in-process queue (the same delivery rules as RabbitMQ): one job at a time, and
 * a job that never finishes (an image that hangs or kills its worker every time) ends as FAILED
 * `crashed` through the queue's delivery limit instead of being asked for again and again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../platform/logger.ts';
import { MemoryJobQueue } from '../platform/mq/memory.queue.ts';
import type { ContentKey } from './thumbnails.repository.ts';
import type { ThumbnailsService } from './thumbnails.service.ts';
import { ThumbnailsWorker } from './thumbnails.worker.ts';

const log = createLogger({ level: 'silent' });
const job = (n: number): ContentKey => ({ contentHash: n.toString(16).padStart(64, '0'), size: n });

/** The two calls the worker makes, recorded (the service's own behaviour is tested on both stacks in test/e2e). */
function recorder(run: (job: ContentKey) => Promise<void>) {
  const seen = { running: 0, peak: 0, done: 0, dead: [] as ContentKey[] };
  const service = {
    run: async (j: ContentKey) => {
      seen.running++;
      seen.peak = Math.max(seen.peak, seen.running);
      try {
        await run(j);
      } finally {
        seen.running--;
        seen.done++;
      }
    },
    deadLettered: async (j: ContentKey) => void seen.dead.push(j),
  } as unknown as ThumbnailsService;
  return { seen, service };
}

describe('ThumbnailsWorker', () => {
  it('runs one job at a time per process', async () => {
    const queue = new MemoryJobQueue();
    const { seen, service } = recorder(() => sleep(30));
    const worker = new ThumbnailsWorker(queue, service, log);
    await worker.start();
    for (let n = 1; n <= 6; n++) await queue.publish(job(n));
    await expect.poll(() => seen.done, { timeout: 5_000 }).toBe(6);
    expect(seen.peak).toBe(1);
    await worker.stop();
    await queue.close();
  });

  it('a job that never finishes is dead-lettered at the delivery limit and recorded as crashed', async () => {
    const queue = new MemoryJobQueue({ maxDeliveries: 2 });
    const { seen, service } = recorder(() => new Promise(() => undefined));
    let worker = new ThumbnailsWorker(queue, service, log);
    await worker.start();
    await queue.publish(job(7));
    // Each stop gives up the hung run, as a killed worker would: the delivery counts as unfinished.
    for (let i = 0; i < 2; i++) {
      await expect.poll(() => seen.running - i, { timeout: 5_000 }).toBe(1);
      await worker.stop(50);
      worker = new ThumbnailsWorker(queue, service, log);
      await worker.start();
    }
    await expect.poll(() => seen.dead, { timeout: 5_000 }).toEqual([job(7)]);
    expect((await queue.depth()).dead).toBe(1);
    await worker.stop(50);
    await queue.close();
  });
});
