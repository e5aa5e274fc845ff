/** The RabbitMQ names, headers and declarations of the job queue, and small amqplib helpers. */
import type { Channel } from 'amqplib';
import { delayLabel } from './queue.ts';

export const ROUTING_KEY = 'job';
export const HEADER_ATTEMPT = 'x-stratus-attempt';
export const HEADER_ATTEMPTS = 'x-stratus-attempts';
export const HEADER_LAST_ERROR = 'x-stratus-last-error';

export function rabbitTopology(prefix: string, retryDelaysMs: readonly number[]) {
  return {
    exchange: prefix,
    queue: `${prefix}.jobs`,
    dead: `${prefix}.dead`,
    retry: retryDelaysMs.map((delayMs) => ({ delayMs, queue: `${prefix}.retry.${delayLabel(delayMs)}` })),
  };
}

export type RabbitTopology = ReturnType<typeof rabbitTopology>;

/** Declares (or re-declares, idempotently) the exchange and queues; see rabbitmq.queue.ts for the layout. */
export async function declareTopology(ch: Channel, n: RabbitTopology): Promise<void> {
  await ch.assertExchange(n.exchange, 'direct', { durable: true });
  await ch.assertQueue(n.dead, { durable: true });
  await ch.assertQueue(n.queue, { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': n.dead } });
  await ch.bindQueue(n.queue, n.exchange, ROUTING_KEY);
  for (const r of n.retry) {
    await ch.assertQueue(r.queue, {
      durable: true,
      arguments: { 'x-message-ttl': r.delayMs, 'x-dead-letter-exchange': n.exchange, 'x-dead-letter-routing-key': ROUTING_KEY },
    });
  }
}

export function confirmed(send: (cb: (err: unknown) => void) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    send((err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
  });
}

export function tryAck(fn: () => void): void {
  try {
    fn();
  } catch {
    // Channel already closed: the broker redelivers.
  }
}

export function parseBody(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return content.toString('base64');
  }
}
