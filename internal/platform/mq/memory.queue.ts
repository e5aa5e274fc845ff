/**
 * The in-process JobQueue of the all-in-one process (no AMQP_URL): the same attempt numbering,
 * retry delays, delivery limit and dead-letter rules as RabbitMQ, with the messages held in memory.
 * What it cannot give is durability: jobs queued when the process stops are gone (the transfer
 * drainer re-enqueues what is still on a draining or staging backend at the next start).
 *
 * An unfinished delivery here is a handler given up by `stop({ graceMs })`: its message goes back to
 * the head of the queue with one more unfinished delivery counted, as RabbitMQ's quorum queue
 * returns a dead consumer's messages.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  deliveryLimitText, retryDecision, errorText, DEFAULT_MAX_DELIVERIES, DEFAULT_RETRY_DELAYS_MS,
  type ConsumeOptions, type Consumer, type DeadLetter, type DeadLetterReason, type JobQueue, type MessageHandler, type QueueDepth, type StopOptions,
} from './queue.ts';

interface Envelope {
  id: string;
  body: string;
  attempt: number;
  /** Deliveries of this attempt that ended unfinished. */
  unfinished: number;
}

interface Run {
  envelope: Envelope;
  /** Given up by `stop`: whatever the handler does later changes nothing. */
  abandoned: boolean;
  task?: Promise<void>;
}

interface Subscriber {
  handler: MessageHandler;
  options: ConsumeOptions;
  running: Set<Run>;
  stopped: boolean;
}

export interface MemoryQueueOptions {
  retryDelaysMs?: readonly number[];
  maxDeliveries?: number;
}

/** A dead-letter hook that failed: the job waits this long in the queue before it is tried again. */
const HOOK_RETRY_MS = 1_000;

export class MemoryJobQueue implements JobQueue {
  readonly kind = 'memory';
  private readonly ready: Envelope[] = [];
  private readonly dead: (Envelope & { reason: DeadLetterReason; lastError: string })[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly subscribers: Subscriber[] = [];
  private readonly retryDelaysMs: readonly number[];
  private readonly maxDeliveries: number;
  private closed = false;

  constructor(options: MemoryQueueOptions = {}) {
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.maxDeliveries = options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES;
  }

  async publish(body: unknown, options: { messageId?: string } = {}): Promise<void> {
    if (this.closed) throw new Error('queue closed');
    // Serialised now, as on the wire: a caller mutating its object later changes nothing queued.
    this.ready.push({ id: options.messageId ?? randomUUID(), body: JSON.stringify(body), attempt: 1, unfinished: 0 });
    this.dispatch();
  }

  async consume(handler: MessageHandler, options: ConsumeOptions): Promise<Consumer> {
    const subscriber: Subscriber = { handler, options, running: new Set(), stopped: false };
    this.subscribers.push(subscriber);
    this.dispatch();
    return {
      stop: async (stopOptions: StopOptions = {}) => {
        subscriber.stopped = true;
        this.subscribers.splice(this.subscribers.indexOf(subscriber), 1);
        const settled = Promise.allSettled([...subscriber.running].map((r) => r.task)).then(() => true);
        if (stopOptions.graceMs === undefined) return void (await settled);
        const finished = await Promise.race([settled, sleep(stopOptions.graceMs, false, { ref: false })]);
        if (!finished) this.abandon(subscriber);
      },
    };
  }

  async depth(): Promise<QueueDepth> {
    return { ready: this.ready.length, retrying: this.timers.size, dead: this.dead.length };
  }

  async peekDead(limit: number): Promise<DeadLetter[]> {
    return this.dead.slice(0, limit).map((d) => ({ id: d.id, body: JSON.parse(d.body) as unknown, attempts: d.attempt, reason: d.reason, lastError: d.lastError }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.subscribers.map((s) => Promise.allSettled([...s.running].map((r) => r.task))));
  }

  /** Hands ready messages to subscribers with free prefetch slots, round robin. */
  private dispatch(): void {
    for (;;) {
      if (this.closed || this.ready.length === 0) return;
      const free = this.subscribers.filter((s) => !s.stopped && s.running.size < s.options.prefetch);
      if (free.length === 0) return;
      for (const subscriber of free) {
        const envelope = this.ready.shift();
        if (!envelope) return;
        this.run(subscriber, envelope);
      }
    }
  }

  private run(subscriber: Subscriber, envelope: Envelope): void {
    const run: Run = { envelope, abandoned: false };
    const work = envelope.unfinished >= this.maxDeliveries ? this.deadByLimit(subscriber, run) : this.handle(subscriber, run);
    run.task = work.finally(() => {
      subscriber.running.delete(run);
      this.dispatch();
    });
    subscriber.running.add(run);
  }

  private async handle(subscriber: Subscriber, run: Run): Promise<void> {
    const { envelope } = run;
    const message = {
      id: envelope.id,
      body: JSON.parse(envelope.body) as unknown,
      attempt: envelope.attempt,
      finalAttempt: envelope.attempt > this.retryDelaysMs.length,
      redelivered: envelope.unfinished > 0,
    };
    try {
      await subscriber.handler(message);
    } catch (error) {
      if (!run.abandoned) this.failed(envelope, error, subscriber.options.isPermanent?.(error) ?? false);
    }
  }

  /** The job's deliveries all ended unfinished: its owner hears of it, then the dead-letter queue keeps it. */
  private async deadByLimit(subscriber: Subscriber, run: Run): Promise<void> {
    const { envelope } = run;
    const lastError = deliveryLimitText(envelope.unfinished);
    const body = JSON.parse(envelope.body) as unknown;
    try {
      await subscriber.options.onDeadLetter?.({ id: envelope.id, body, attempts: envelope.attempt, reason: 'delivery_limit', lastError });
    } catch {
      if (!run.abandoned) this.later(envelope, HOOK_RETRY_MS);
      return;
    }
    if (!run.abandoned) this.dead.push({ ...envelope, reason: 'delivery_limit', lastError });
  }

  /** `stop` ran out of grace: the messages of the handlers still running go back, counted unfinished. */
  private abandon(subscriber: Subscriber): void {
    for (const run of [...subscriber.running].reverse()) {
      run.abandoned = true;
      subscriber.running.delete(run);
      this.ready.unshift({ ...run.envelope, unfinished: run.envelope.unfinished + 1 });
    }
    this.dispatch();
  }

  private failed(envelope: Envelope, error: unknown, permanent: boolean): void {
    const decision = retryDecision(envelope.attempt, this.retryDelaysMs, permanent);
    if (decision.kind === 'dead' || this.closed) {
      this.dead.push({ ...envelope, reason: decision.kind === 'dead' ? decision.reason : 'retries_exhausted', lastError: errorText(error) });
      return;
    }
    // A retry is a new attempt: its deliveries are counted afresh.
    this.later({ ...envelope, attempt: envelope.attempt + 1, unfinished: 0 }, decision.delayMs);
  }

  private later(envelope: Envelope, delayMs: number): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.ready.push(envelope);
      this.dispatch();
    }, delayMs);
    // A retry waiting out its delay must not keep a finished process alive.
    timer.unref();
    this.timers.add(timer);
  }
}
