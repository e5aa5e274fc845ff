/** The RabbitMQ names, headers and declarations of the job queue, and small amqplib helpers. */
import type { Channel, GetMessage, MessagePropertyHeaders } from 'amqplib';
import { delayLabel, deliveryLimitText, type DeadLetter, type DeadLetterReason } from './queue.ts';

export const ROUTING_KEY = 'job';
export const HEADER_ATTEMPT = 'x-stratus-attempt';
export const HEADER_ATTEMPTS = 'x-stratus-attempts';
export const HEADER_LAST_ERROR = 'x-stratus-last-error';
export const HEADER_DEAD_REASON = 'x-stratus-dead-reason';
/** Set by a quorum queue on a redelivery: the deliveries of this message that ended unfinished. */
export const HEADER_DELIVERY_COUNT = 'x-delivery-count';

/**
 * The broker's own delivery limit on the jobs queue: a backstop only, far above any configured
 * TRANSFER_MAX_DELIVERIES (≤ 50), which the consumer enforces from `x-delivery-count`. It is fixed
 * because queue arguments cannot change once declared (406 PRECONDITION_FAILED): a limit carried
 * in the arguments would tie the setting to the queue for ever.
 */
export const BROKER_DELIVERY_LIMIT = 100;

export function rabbitTopology(prefix: string, retryDelaysMs: readonly number[]) {
  return {
    exchange: prefix,
    /** A quorum queue: it counts unfinished deliveries durably (a classic queue cannot). */
    queue: `${prefix}.jobs.quorum`,
    /** The classic queue of versions before the delivery limit: drained into `queue`, then deleted. */
    legacyQueue: `${prefix}.jobs`,
    dead: `${prefix}.dead`,
    retry: retryDelaysMs.map((delayMs) => ({ delayMs, queue: `${prefix}.retry.${delayLabel(delayMs)}` })),
  };
}

export type RabbitTopology = ReturnType<typeof rabbitTopology>;

/** Declares (or re-declares, idempotently) the exchange and queues; see rabbitmq.queue.ts for the layout. */
export async function declareTopology(ch: Channel, n: RabbitTopology): Promise<void> {
  await ch.assertExchange(n.exchange, 'direct', { durable: true });
  await ch.assertQueue(n.dead, { durable: true });
  await ch.assertQueue(n.queue, {
    durable: true,
    arguments: {
      'x-queue-type': 'quorum',
      'x-delivery-limit': BROKER_DELIVERY_LIMIT,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': n.dead,
      // Dead-lettering confirmed by the dead queue, so a job is never lost on the way
      // (at-least-once needs reject-publish overflow; the queue has no length limit anyway).
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    },
  });
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

/**
 * The headers a job keeps when it is sent on (to a retry queue or the dead queue): the broker's
 * dead-letter history (`x-death` grows with every trip through a TTL queue) and delivery count go;
 * the count must not follow the job into its next attempt, which gets its own deliveries.
 */
export function carriedHeaders(headers: MessagePropertyHeaders | undefined): MessagePropertyHeaders {
  const {
    'x-death': _death, 'x-first-death-exchange': _e, 'x-first-death-queue': _q, 'x-first-death-reason': _r,
    [HEADER_DELIVERY_COUNT]: _count, 'x-acquired-count': _acquired, ...kept
  } = headers ?? {};
  return kept;
}

/** Why a message in the dead queue is there: our header, else the broker's dead-letter reason. */
export function deadReasonOf(headers: MessagePropertyHeaders): DeadLetterReason {
  const ours = headers[HEADER_DEAD_REASON];
  if (ours === 'retries_exhausted' || ours === 'permanent_error' || ours === 'delivery_limit' || ours === 'rejected') return ours;
  // x-death lists the latest dead-lettering first (x-first-death-reason may be a retry's `expired`).
  const deaths = headers['x-death'] as { reason?: unknown }[] | undefined;
  const broker = String(deaths?.[0]?.reason ?? headers['x-first-death-reason'] ?? '');
  if (broker === 'delivery_limit' || broker === 'rejected') return broker;
  return 'retries_exhausted';
}

/** A message of the dead queue as the port describes it, whoever put it there. */
export function deadLetterOf(msg: GetMessage): DeadLetter {
  const headers = msg.properties.headers ?? {};
  const reason = deadReasonOf(headers);
  const fallback = reason === 'delivery_limit'
    ? deliveryLimitText(Number(headers[HEADER_DELIVERY_COUNT] ?? BROKER_DELIVERY_LIMIT + 1))
    : 'rejected: not a JSON job';
  return {
    id: String(msg.properties.messageId ?? ''),
    body: parseBody(msg.content),
    attempts: Number(headers[HEADER_ATTEMPTS] ?? headers[HEADER_ATTEMPT] ?? 1),
    reason,
    lastError: String(headers[HEADER_LAST_ERROR] ?? fallback),
  };
}

export function parseBody(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8'));
  } catch {
    return content.toString('base64');
  }
}
