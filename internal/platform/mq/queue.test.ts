import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../../../test/support/env.ts';
import { createLogger } from '../logger.ts';
import { MemoryJobQueue } from './memory.queue.ts';
import { CONTRACT_DELAYS_MS, queueContract } from './queue.contract.ts';
import { RabbitJobQueue, rabbitTopology } from './rabbitmq.queue.ts';

const log = createLogger({ level: 'silent' });

/** Every test gets its own exchange and queues, deleted afterwards: test files run in parallel. */
async function dropTopology(prefix: string): Promise<void> {
  const conn = await connect(testEnv.amqpUrl);
  const ch = await conn.createChannel();
  const names = rabbitTopology(prefix, CONTRACT_DELAYS_MS);
  for (const q of [names.queue, names.dead, ...names.retry.map((r) => r.queue)]) await ch.deleteQueue(q);
  await ch.deleteExchange(names.exchange);
  await conn.close();
}

const prefixes = new WeakMap<object, string>();
queueContract(
  'rabbitmq',
  async () => {
    const prefix = `test.mq.${randomBytes(4).toString('hex')}`;
    const queue = await RabbitJobQueue.connect({ url: testEnv.amqpUrl, prefix, retryDelaysMs: CONTRACT_DELAYS_MS, log });
    prefixes.set(queue, prefix);
    return queue;
  },
  async (queue) => {
    await queue.close();
    await dropTopology(prefixes.get(queue)!);
  },
);

queueContract('memory', async () => new MemoryJobQueue(CONTRACT_DELAYS_MS));

describe('RabbitJobQueue specifics', () => {
  it('declares the topology idempotently and redelivers what a closed connection left unacked', async () => {
    const prefix = `test.mq.${randomBytes(4).toString('hex')}`;
    const first = await RabbitJobQueue.connect({ url: testEnv.amqpUrl, prefix, retryDelaysMs: CONTRACT_DELAYS_MS, log });
    const again = await RabbitJobQueue.connect({ url: testEnv.amqpUrl, prefix, retryDelaysMs: CONTRACT_DELAYS_MS, log });
    let started = false;
    let release = () => undefined as void;
    // The handler does not finish before its connection goes: as if the worker's process vanished.
    await first.consume(() => {
      started = true;
      return new Promise<void>((resolve) => (release = resolve));
    }, { prefetch: 1 });
    await again.publish({ n: 1 }, { messageId: 'r1' });
    await expect.poll(() => started).toBe(true);
    const seen: { redelivered: boolean; attempt: number }[] = [];
    await again.consume(async (m) => void seen.push({ redelivered: m.redelivered, attempt: m.attempt }), { prefetch: 1 });
    // Dropping the connection without close() (close() would wait for the hung handler).
    await (first as unknown as { current: { model: { close(): Promise<void> } } }).current.model.close();
    await expect.poll(() => seen).toEqual([{ redelivered: true, attempt: 1 }]);
    release();
    await first.close();
    await again.close();
    await dropTopology(prefix);
  });

  it('fails fast with UNAVAILABLE when the broker is unreachable', async () => {
    await expect(RabbitJobQueue.connect({ url: 'amqp://guest:guest@127.0.0.1:1', log })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
