/**
 * The in-process JobQueue of the all-in-one process (no AMQP_URL): the same attempt numbering,
 * retry delays and dead-letter rules as RabbitMQ, with the messages held in memory. What it cannot
 * give is durability: jobs queued when the process stops are gone (the transfer drainer re-enqueues
 * what is still on a draining or staging backend at the next start).
 */
import { randomUUID } from 'node:crypto';
import {
  retryDecision, errorText, DEFAULT_RETRY_DELAYS_MS,
  type ConsumeOptions, type Consumer, type DeadLetter, type JobQueue, type MessageHandler, type QueueDepth,
} from './queue.ts';

interface Envelope {
  id: string;
  body: string;
  attempt: number;
  redelivered: boolean;
}

interface Subscriber {
  handler: MessageHandler;
  options: ConsumeOptions;
  inFlight: Set<Promise<void>>;
  stopped: boolean;
}

export class MemoryJobQueue implements JobQueue {
  readonly kind = 'memory';
  private readonly ready: Envelope[] = [];
  private readonly dead: (Envelope & { lastError: string })[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly subscribers: Subscriber[] = [];
  private closed = false;

  constructor(private readonly retryDelaysMs: readonly number[] = DEFAULT_RETRY_DELAYS_MS) {}

  async publish(body: unknown, options: { messageId?: string } = {}): Promise<void> {
    if (this.closed) throw new Error('queue closed');
    // Serialised now, as on the wire: a caller mutating its object later changes nothing queued.
    this.ready.push({ id: options.messageId ?? randomUUID(), body: JSON.stringify(body), attempt: 1, redelivered: false });
    this.dispatch();
  }

  async consume(handler: MessageHandler, options: ConsumeOptions): Promise<Consumer> {
    const subscriber: Subscriber = { handler, options, inFlight: new Set(), stopped: false };
    this.subscribers.push(subscriber);
    this.dispatch();
    return {
      stop: async () => {
        subscriber.stopped = true;
        this.subscribers.splice(this.subscribers.indexOf(subscriber), 1);
        await Promise.allSettled([...subscriber.inFlight]);
      },
    };
  }

  async depth(): Promise<QueueDepth> {
    return { ready: this.ready.length, retrying: this.timers.size, dead: this.dead.length };
  }

  async peekDead(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(0, limit).map((d) => ({ id: d.id, body: JSON.parse(d.body) as unknown, attempts: d.attempt, lastError: d.lastError }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.subscribers.map((s) => Promise.allSettled([...s.inFlight])));
  }

  /** Hands ready messages to subscribers with free prefetch slots, round robin. */
  private dispatch(): void {
    for (;;) {
      if (this.closed || this.ready.length === 0) return;
      const free = this.subscribers.filter((s) => !s.stopped && s.inFlight.size < s.options.prefetch);
      if (free.length === 0) return;
      for (const subscriber of free) {
        const envelope = this.ready.shift();
        if (!envelope) return;
        this.run(subscriber, envelope);
      }
    }
  }

  private run(subscriber: Subscriber, envelope: Envelope): void {
    const maxAttempt = this.retryDelaysMs.length + 1;
    const message = {
      id: envelope.id,
      body: JSON.parse(envelope.body) as unknown,
      attempt: envelope.attempt,
      finalAttempt: envelope.attempt >= maxAttempt,
      redelivered: envelope.redelivered,
    };
    const task = subscriber
      .handler(message)
      .then(
        () => undefined,
        (error: unknown) => this.failed(envelope, error, subscriber.options.isPermanent?.(error) ?? false),
      )
      .finally(() => {
        subscriber.inFlight.delete(task);
        this.dispatch();
      });
    subscriber.inFlight.add(task);
  }

  private failed(envelope: Envelope, error: unknown, permanent: boolean): void {
    const decision = retryDecision(envelope.attempt, this.retryDelaysMs, permanent);
    if (decision.kind === 'dead' || this.closed) {
      this.dead.push({ ...envelope, lastError: errorText(error) });
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push({ ...envelope, attempt: envelope.attempt + 1, redelivered: false });
      this.dispatch();
    }, decision.delayMs);
    // A retry waiting out its delay must not keep a finished process alive.
    timer.unref();
    this.timers.add(timer);
  }
}
