/**
 * JobQueue on RabbitMQ (amqplib). Topology, declared idempotently on every (re)connect:
 *
 *   <prefix>                 durable direct exchange; routing key `job` → <prefix>.jobs.quorum
 *   <prefix>.jobs.quorum     quorum queue the workers consume (manual ack, prefetch N). It counts
 *                            the deliveries that ended unfinished (`x-delivery-count`) durably,
 *                            across consumer crashes; a delivery whose count has reached
 *                            `maxDeliveries` is dead-lettered instead of run (see deliver()). A
 *                            message rejected outright (not JSON), or past the broker's backstop
 *                            `x-delivery-limit`, dead-letters to <prefix>.dead
 *   <prefix>.retry.<delay>   one durable queue per retry delay (`5s`, `30s`, `5m`), no consumer:
 *                            `x-message-ttl` = delay, then dead-lettered back to the exchange, so
 *                            a retry is delayed without a plugin and survives a broker restart
 *   <prefix>.dead            durable queue keeping each failed job with headers
 *                            `x-stratus-attempts`, `x-stratus-last-error`, `x-stratus-dead-reason`
 *   <prefix>.jobs            classic queue of earlier versions: drained and deleted (rabbitmq.migrate.ts)
 *
 * A failed message is republished (with confirm) to the retry queue of its attempt or to the dead
 * queue, and only then acked: if the process dies in between, the broker redelivers the original,
 * so a job may run twice but is never lost. Messages are persistent and publishes confirmed.
 * The queue arguments are part of the contract: RabbitMQ refuses to redeclare a queue with other
 * arguments (406), so changing the delays means new queue names (they carry the delay) and the old
 * ones drain by themselves; the delivery limit is enforced by the consumer, not by an argument.
 *
 * Connection loss (broker restart, network): every operation reconnects on demand; while consumers
 * exist a background loop reconnects with a growing delay and re-attaches them.
 */
import { injectTrace, inSpan, SpanKind } from '../tracing/tracing.ts';
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type Options } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { DeliveryRouter, type Receiver } from './rabbitmq.delivery.ts';
import { drainLegacyQueue } from './rabbitmq.migrate.ts';
import { confirmed, deadLetterOf, declareTopology, rabbitTopology, type RabbitTopology, HEADER_ATTEMPT, ROUTING_KEY } from './rabbitmq.topology.ts';
import {
  DEFAULT_MAX_DELIVERIES, DEFAULT_RETRY_DELAYS_MS,
  type ConsumeOptions, type Consumer, type DeadLetter, type JobQueue, type MessageHandler, type QueueDepth,
} from './queue.ts';

export { rabbitTopology } from './rabbitmq.topology.ts';

export interface RabbitQueueOptions {
  url: string;
  /** Exchange name and queue-name prefix. Default `stratus.transfer`. */
  prefix?: string;
  retryDelaysMs?: readonly number[];
  /** Unfinished deliveries of one attempt before the dead-letter queue. Default 5. */
  maxDeliveries?: number;
  log: Logger;
  /** How long `publish` keeps trying to reach the broker before UNAVAILABLE. Default 30 s. */
  publishTimeoutMs?: number;
}

interface Session {
  model: ChannelModel;
  confirm: ConfirmChannel;
}

interface Subscription extends Receiver {
  channel: Channel | undefined;
  tag: string | undefined;
  stopped: boolean;
}

export class RabbitJobQueue implements JobQueue {
  readonly kind = 'rabbitmq';
  readonly names: RabbitTopology;
  private readonly delays: readonly number[];
  private readonly log: Logger;
  /** Channels closed or being closed: what was delivered on them is the broker's again. */
  private readonly closedChannels = new WeakSet<Channel>();
  private readonly router: DeliveryRouter;
  private current: Session | undefined;
  private connecting: Promise<Session> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private reconnecting = false;
  private closed = false;

  private constructor(private readonly options: RabbitQueueOptions) {
    this.delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.names = rabbitTopology(options.prefix ?? 'stratus.transfer', this.delays);
    this.log = options.log;
    this.router = new DeliveryRouter({
      names: this.names, delays: this.delays, maxDeliveries: options.maxDeliveries ?? DEFAULT_MAX_DELIVERIES, log: this.log, closedChannels: this.closedChannels,
      send: async (queue, content, props) => {
        const session = await this.session();
        await confirmed((cb) => session.confirm.sendToQueue(queue, content, props, cb));
      },
    });
  }

  /** Connects and declares the topology; fails (UNAVAILABLE) when the broker cannot be reached now. */
  static async connect(options: RabbitQueueOptions): Promise<RabbitJobQueue> {
    const queue = new RabbitJobQueue(options);
    await queue.session();
    return queue;
  }

  async publish(body: unknown, options: { messageId?: string } = {}): Promise<void> {
    const content = Buffer.from(JSON.stringify(body));
    const attributes = { 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'send', 'messaging.destination.name': this.names.exchange, ...(options.messageId ? { 'messaging.message.id': options.messageId } : {}) };
    // A PRODUCER span; its context rides in the message headers to the consumer (traceparent).
    await inSpan(`publish ${this.names.exchange}`, SpanKind.PRODUCER, attributes, async () => {
      const headers: Record<string, unknown> = { [HEADER_ATTEMPT]: 1 };
      injectTrace(headers);
      const props: Options.Publish = { persistent: true, contentType: 'application/json', messageId: options.messageId, headers };
      await this.retrying('publish', async (s) => {
        await confirmed((cb) => s.confirm.publish(this.names.exchange, ROUTING_KEY, content, props, cb));
      });
    });
  }

  async consume(handler: MessageHandler, options: ConsumeOptions): Promise<Consumer> {
    const sub: Subscription = { handler, options, channel: undefined, tag: undefined, inFlight: new Set(), stopped: false };
    this.subscriptions.add(sub);
    await this.attach(sub, await this.session());
    return {
      stop: async ({ graceMs } = {}) => {
        sub.stopped = true;
        this.subscriptions.delete(sub);
        const channel = sub.channel;
        if (channel && sub.tag) await channel.cancel(sub.tag).catch(() => undefined);
        const settled = Promise.allSettled([...sub.inFlight]).then(() => true);
        const finished = graceMs === undefined ? await settled : await Promise.race([settled, sleep(graceMs, false, { ref: false })]);
        // Closing the channel hands the unfinished deliveries back; the quorum queue counts them.
        if (channel && !finished) this.closedChannels.add(channel);
        await channel?.close().catch(() => undefined);
      },
    };
  }

  async depth(): Promise<QueueDepth> {
    return this.withChannel(async (ch) => {
      const count = async (queue: string) => (await ch.checkQueue(queue)).messageCount;
      const retrying = await Promise.all(this.names.retry.map((r) => count(r.queue)));
      return { ready: await count(this.names.queue), retrying: retrying.reduce((a, b) => a + b, 0), dead: await count(this.names.dead) };
    });
  }

  async peekDead(limit: number): Promise<DeadLetter[]> {
    // Taken unacked and given back when the channel closes: RabbitMQ requeues them in place.
    return this.withChannel(async (ch) => {
      const out: DeadLetter[] = [];
      while (out.length < limit) {
        const msg = await ch.get(this.names.dead, { noAck: false });
        if (msg === false) break;
        out.push(deadLetterOf(msg));
      }
      return out;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const sub of this.subscriptions) sub.stopped = true;
    await Promise.all([...this.subscriptions].map((s) => Promise.allSettled([...s.inFlight])));
    // A reconnect under way would otherwise finish after close and leave a connection behind.
    await this.connecting?.catch(() => undefined);
    const session = this.current;
    this.current = undefined;
    await session?.model.close().catch(() => undefined);
  }

  private session(): Promise<Session> {
    if (this.closed) return Promise.reject(new AppError('UNAVAILABLE', 'Job queue is closed'));
    if (this.current) return Promise.resolve(this.current);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Session> {
    let model: ChannelModel;
    try {
      model = await connect(this.options.url);
    } catch (error) {
      throw new AppError('UNAVAILABLE', `RabbitMQ cannot be reached: ${(error as Error).message}`, { cause: error, details: { reason: 'amqp_unreachable' } });
    }
    try {
      if (this.closed) throw new AppError('UNAVAILABLE', 'Job queue is closed');
      model.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP connection error'));
      model.on('close', () => this.lost(model));
      const confirm = await model.createConfirmChannel();
      confirm.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP publish channel error'));
      confirm.on('close', () => this.lost(model));
      await declareTopology(confirm, this.names);
      await drainLegacyQueue(model, confirm, this.names, this.log).catch((error: unknown) => this.log.warn({ err: error }, 'classic jobs queue not drained; tried again at the next connect'));
      const session = { model, confirm };
      this.current = session;
      for (const sub of this.subscriptions) if (!sub.stopped) await this.attach(sub, session);
      this.log.info({ exchange: this.names.exchange }, 'AMQP connected, topology declared');
      return session;
    } catch (error) {
      this.current = undefined;
      await model.close().catch(() => undefined);
      throw AppError.is(error) ? error : new AppError('UNAVAILABLE', `RabbitMQ set-up failed: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The connection (or one of its channels) closed: forget it, and reconnect if anyone consumes. */
  private lost(model: ChannelModel): void {
    if (this.current?.model !== model) return;
    this.current = undefined;
    for (const sub of this.subscriptions) sub.channel = undefined;
    model.close().catch(() => undefined);
    if (this.closed) return;
    this.log.warn('AMQP connection lost; reconnecting');
    if (this.subscriptions.size > 0) void this.reconnectLoop();
  }

  private async reconnectLoop(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.closed && !this.current && this.subscriptions.size > 0; attempt++) {
        try {
          await this.session();
        } catch (error) {
          await sleep(Math.min(5_000, 200 * 2 ** attempt));
          this.log.debug({ err: error, attempt }, 'AMQP reconnect failed');
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  private async attach(sub: Subscription, session: Session): Promise<void> {
    const ch = await session.model.createChannel();
    ch.on('error', (error: Error) => this.log.warn({ err: error }, 'AMQP consumer channel error'));
    ch.on('close', () => {
      this.closedChannels.add(ch);
      if (sub.channel === ch && !sub.stopped) this.lost(session.model);
    });
    await ch.prefetch(sub.options.prefetch);
    const { consumerTag } = await ch.consume(
      this.names.queue,
      (msg) => {
        // null: the broker cancelled the consumer (queue deleted); start over.
        if (msg === null) this.lost(session.model);
        else this.router.deliver(sub, ch, msg);
      },
      { noAck: false },
    );
    sub.channel = ch;
    sub.tag = consumerTag;
  }

  private async withChannel<T>(fn: (ch: Channel) => Promise<T>): Promise<T> {
    return this.retrying('inspect', async (s) => {
      const ch = await s.model.createChannel();
      ch.on('error', () => undefined);
      try {
        return await fn(ch);
      } finally {
        await ch.close().catch(() => undefined);
      }
    });
  }

  /** Runs `fn` on a live session, reconnecting between tries, until `publishTimeoutMs` runs out. */
  private async retrying<T>(what: string, fn: (s: Session) => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.publishTimeoutMs ?? 30_000);
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(await this.session());
      } catch (error) {
        if (this.closed || Date.now() >= deadline) {
          throw AppError.is(error) ? error : new AppError('UNAVAILABLE', `AMQP ${what} failed: ${(error as Error).message}`, { cause: error });
        }
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }
}
