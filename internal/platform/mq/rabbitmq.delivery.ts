/**
 * What happens to one message the jobs queue delivers (RabbitJobQueue's consumers): run the
 * handler and ack; on an error republish it to the retry queue of its attempt or to the dead
 * queue, then ack; and a message whose deliveries all ended unfinished (its worker died with it
 * each time: the quorum queue's `x-delivery-count`) is not run again but dead-lettered with reason
 * `delivery_limit`, after `onDeadLetter` has let its owner record it.
 *
 * The limit is enforced here rather than by the queue's `x-delivery-limit` argument so that the
 * setting can change: a queue's arguments cannot (see BROKER_DELIVERY_LIMIT, the backstop).
 */
import type { Channel, ConsumeMessage, MessagePropertyHeaders, Options } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import { extractTrace, inSpan, SpanKind, tracingEnabled } from '../tracing/tracing.ts';
import type { Logger } from '../logger.ts';
import {
  carriedHeaders, tryAck, type RabbitTopology, HEADER_ATTEMPT, HEADER_ATTEMPTS, HEADER_DEAD_REASON, HEADER_DELIVERY_COUNT, HEADER_LAST_ERROR,
} from './rabbitmq.topology.ts';
import {
  deliveryLimitText, errorText, retryDecision, type ConsumeOptions, type DeadLetterReason, type MessageHandler, type QueueMessage,
} from './queue.ts';

/** A consumer as the router needs it: what to call, and where its running handlers are kept. */
export interface Receiver {
  handler: MessageHandler;
  options: ConsumeOptions;
  inFlight: Set<Promise<void>>;
}

export interface DeliveryContext {
  names: RabbitTopology;
  delays: readonly number[];
  maxDeliveries: number;
  log: Logger;
  /** Channels closed or being closed: what was delivered on them is the broker's again. */
  closedChannels: WeakSet<Channel>;
  /** Publishes to a queue with a publisher confirm. */
  send(queue: string, content: Buffer, props: Options.Publish): Promise<void>;
}

/** An owner that could not record a dead letter (database down?): the job is tried again after this. */
const HOOK_RETRY_MS = 1_000;

export class DeliveryRouter {
  constructor(private readonly ctx: DeliveryContext) {}

  deliver(sub: Receiver, ch: Channel, msg: ConsumeMessage): void {
    const attempt = Math.max(1, Number(msg.properties.headers?.[HEADER_ATTEMPT] ?? 1) || 1);
    // Deliveries of this message that ended unfinished, as the quorum queue counted them.
    const unfinished = Number(msg.properties.headers?.[HEADER_DELIVERY_COUNT] ?? 0) || 0;
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch {
      // No retry can fix bytes that are not a job: the queue's dead-letter exchange keeps them.
      tryAck(() => ch.nack(msg, false, false));
      return;
    }
    const message = { id: String(msg.properties.messageId ?? ''), body, attempt, finalAttempt: attempt > this.ctx.delays.length, redelivered: msg.fields.redelivered };
    const task = (async () => {
      // Its workers died with it every time (a job that crashes its worker): it is not run again.
      if (unfinished >= this.ctx.maxDeliveries) return this.deadByLimit(sub, ch, msg, message, unfinished);
      try {
        await this.handle(sub, msg, message);
      } catch (error) {
        // Given up by stop() or its channel died: the broker has the message back, and a retry
        // published now would be a second copy of the job.
        if (this.ctx.closedChannels.has(ch)) throw error;
        await this.reroute(msg, attempt, error, sub.options.isPermanent?.(error) ?? false);
      }
      // On a channel that died meanwhile this throws: the broker redelivers, the job is idempotent.
      ch.ack(msg);
    })()
      .catch((error: unknown) => this.ctx.log.warn({ err: error, messageId: message.id }, 'message left unacknowledged; the broker will redeliver it'))
      .finally(() => sub.inFlight.delete(task));
    sub.inFlight.add(task);
  }

  /** The handler in a CONSUMER span, the child of the publisher's (its traceparent header). */
  private handle(sub: Receiver, msg: ConsumeMessage, message: QueueMessage): Promise<void> {
    if (!tracingEnabled()) return sub.handler(message);
    const queue = this.ctx.names.queue;
    const attributes = { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process', 'messaging.destination.name': queue, 'messaging.message.id': message.id, 'stratus.mq.attempt': message.attempt };
    return inSpan(`process ${queue}`, SpanKind.CONSUMER, attributes, () => sub.handler(message), extractTrace(msg.properties.headers));
  }

  /** Tells the consumer's owner (`onDeadLetter`), then moves the job to the dead queue. */
  private async deadByLimit(sub: Receiver, ch: Channel, msg: ConsumeMessage, message: QueueMessage, unfinished: number): Promise<void> {
    const lastError = deliveryLimitText(unfinished);
    this.ctx.log.warn({ messageId: message.id, deliveries: unfinished, limit: this.ctx.maxDeliveries }, 'job delivered too often without finishing: dead-lettered');
    try {
      await sub.options.onDeadLetter?.({ id: message.id, body: message.body, attempts: message.attempt, reason: 'delivery_limit', lastError });
    } catch (error) {
      this.ctx.log.warn({ err: error, messageId: message.id }, 'dead-letter hook failed; the job stays queued');
      await sleep(HOOK_RETRY_MS);
      tryAck(() => ch.nack(msg, false, true));
      return;
    }
    await this.sendTo(this.ctx.names.dead, msg, this.deadHeaders(msg, message.attempt, 'delivery_limit', lastError));
    ch.ack(msg);
  }

  /** Republishes a failed message to the retry queue of its attempt, or to the dead queue. */
  private async reroute(msg: ConsumeMessage, attempt: number, error: unknown, permanent: boolean): Promise<void> {
    const decision = retryDecision(attempt, this.ctx.delays, permanent);
    const lastError = errorText(error);
    if (decision.kind === 'dead') return this.sendTo(this.ctx.names.dead, msg, this.deadHeaders(msg, attempt, decision.reason, lastError));
    const target = this.ctx.names.retry[this.ctx.delays.indexOf(decision.delayMs)]?.queue;
    if (!target) throw new AppError('INTERNAL', 'no retry queue for the delay');
    await this.sendTo(target, msg, { ...carriedHeaders(msg.properties.headers), [HEADER_ATTEMPT]: attempt + 1, [HEADER_LAST_ERROR]: lastError });
  }

  private deadHeaders(msg: ConsumeMessage, attempt: number, reason: DeadLetterReason, lastError: string): MessagePropertyHeaders {
    return {
      ...carriedHeaders(msg.properties.headers), [HEADER_ATTEMPTS]: attempt, [HEADER_LAST_ERROR]: lastError, [HEADER_DEAD_REASON]: reason,
      'x-stratus-failed-at': new Date().toISOString(),
    };
  }

  private sendTo(queue: string, msg: ConsumeMessage, headers: MessagePropertyHeaders): Promise<void> {
    return this.ctx.send(queue, msg.content, { persistent: true, contentType: 'application/json', messageId: msg.properties.messageId as string | undefined, headers });
  }
}
