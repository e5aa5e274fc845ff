import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../../../test/support/env.ts';
import { createLogger } from '../logger.ts';
import { MemoryJobQueue } from './memory.queue.ts';
import { CONTRACT_DELAYS_MS, CONTRACT_MAX_DELIVERIES, queueContract } from './queue.contract.ts';
import { RabbitJobQueue, rabbitTopology } from './rabbitmq.queue.ts';

const log = createLogger({ level: 'silent' });

/** Every test gets its own exchange and queues, deleted afterwards: test files run in parallel. */
async function dropTopology(prefix: string): Promise<void> {
  const conn = await connect(testEnv.amqpUrl);
  const ch = await conn.createChannel();
  const names = rabbitTopology(prefix, CONTRACT_DELAYS_MS);
  for (const q of [names.queue, names.legacyQueue, names.dead, ...names.retry.map((r) => r.queue)]) await ch.deleteQueue(q);
  await ch.deleteExchange(names.exchange);
  await conn.close();
}

const rabbit = (prefix: string) =>
  RabbitJobQueue.connect({ url: testEnv.amqpUrl, prefix, retryDelaysMs: CONTRACT_DELAYS_MS, maxDeliveries: CONTRACT_MAX_DELIVERIES, log });

/**
 * What the broker sees when a worker's process dies: its TCP connection goes and its unacked
 * messages return. Marked closed first, so this queue object does not reconnect as a live one would.
 */
async function killProcess(queue: RabbitJobQueue): Promise<void> {
  const inside = queue as unknown as { closed: boolean; current: { model: { close(): Promise<void> } } };
  inside.closed = true;
  await inside.current.model.close();
}

const prefixes = new WeakMap<object, string>();
queueContract(
  'rabbitmq',
  async () => {
    const prefix = `test.mq.${randomBytes(4).toString('hex')}`;
    const queue = await rabbit(prefix);
    prefixes.set(queue, prefix);
    return queue;
  },
  async (queue) => {
    await queue.close();
    await dropTopology(prefixes.get(queue)!);
  },
);

queueContract('memory', async () => new MemoryJobQueue({ retryDelaysMs: CONTRACT_DELAYS_MS, maxDeliveries: CONTRACT_MAX_DELIVERIES }));

describe('RabbitJobQueue specifics', () => {
  it('declares the topology idempotently and redelivers what a closed connection left unacked', async () => {
    const prefix = `test.mq.${randomBytes(4).toString('hex')}`;
    const first = await rabbit(prefix);
    const again = await rabbit(prefix);
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
    await killProcess(first);
    await expect.poll(() => seen).toEqual([{ redelivered: true, attempt: 1 }]);
    release();
    await first.close();
    await again.close();
    await dropTopology(prefix);
  });

  it('a job whose worker process dies every time is dead-lettered after the delivery limit, counted by the broker', async () => {
    const prefix = `test.mq.${randomBytes(4).toString('hex')}`;
    const publisher = await rabbit(prefix);
    await publisher.publish({ job: 'kills its worker' }, { messageId: 'k1' });
    const incarnations: RabbitJobQueue[] = [];
    let deliveries = 0;
    // One RabbitJobQueue per worker process; the rounds stop once a worker is left alone.
    for (let round = 1; round <= CONTRACT_MAX_DELIVERIES + 2; round++) {
      const worker = await rabbit(prefix);
      incarnations.push(worker);
      let taken = false;
      await worker.consume(() => {
        taken = true;
        deliveries++;
        return new Promise<void>(() => undefined);
      }, { prefetch: 1 });
      const dead = await expect.poll(() => taken, { timeout: 3_000 }).toBe(true).then(() => false, () => true);
      if (dead) break;
      await killProcess(worker);
    }
    expect(deliveries).toBe(CONTRACT_MAX_DELIVERIES);
    await expect.poll(async () => (await publisher.depth()).dead, { timeout: 10_000 }).toBe(1);
    expect(await publisher.peekDead(5)).toEqual([expect.objectContaining({ id: 'k1', reason: 'delivery_limit', attempts: 1 })]);
    await Promise.all([publisher, ...incarnations].map((q) => Promise.race([q.close(), sleep(500)])));
    await dropTopology(prefix);
  });

  it('moves the jobs of the classic queue an earlier version declared into the quorum queue, then deletes it', async () => {
    const prefix = `test.mq.${randomBytes(4).toString('hex')}`;
    const names = rabbitTopology(prefix, CONTRACT_DELAYS_MS);
    // The topology of the version before quorum queues: a classic queue bound under `job`.
    const conn = await connect(testEnv.amqpUrl);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange(names.exchange, 'direct', { durable: true });
    await ch.assertQueue(names.legacyQueue, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': names.dead } });
    await ch.bindQueue(names.legacyQueue, names.exchange, 'job');
    for (let i = 0; i < 3; i++) ch.publish(names.exchange, 'job', Buffer.from(JSON.stringify({ i })), { persistent: true, messageId: `old${i}`, headers: { 'x-stratus-attempt': 1 } });
    await ch.waitForConfirms();
    const queue = await rabbit(prefix);
    await queue.publish({ i: 3 }, { messageId: 'new3' });
    const seen: string[] = [];
    await queue.consume(async (m) => void seen.push(m.id), { prefetch: 4 });
    await expect.poll(() => seen.sort()).toEqual(['new3', 'old0', 'old1', 'old2']);
    await sleep(300);
    expect(seen).toHaveLength(4); // No message twice: the old queue no longer takes new jobs.
    const check = await conn.createChannel();
    check.on('error', () => undefined);
    await expect(check.checkQueue(names.legacyQueue)).rejects.toThrow(/NOT_FOUND/);
    await conn.close().catch(() => undefined);
    await queue.close();
    await dropTopology(prefix);
  });

  it('fails fast with UNAVAILABLE when the broker is unreachable', async () => {
    await expect(RabbitJobQueue.connect({ url: 'amqp://guest:guest@127.0.0.1:1', log })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
