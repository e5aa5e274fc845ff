/**
 * JobQueue on RabbitMQ (amqplib). Topology, declared idempotently on every (re)connect:
 *
 *   <prefix>                 durable direct exchange; routing key `job` → <prefix>.jobs
 *   <prefix>.jobs            durable queue the workers consume (manual ack, prefetch N); a message
 *                            rejected outright (not JSON) dead-letters to <prefix>.dead
 *   <prefix>.retry.<delay>   one durable queue per retry delay (`5s`, `30s`, `5m`), no consumer:
 *                            `x-message-ttl` = delay, then dead-lettered back to the exchange, so
 *                            a retry is delayed without a plugin and survives a broker restart
 *   <prefix>.dead            durable queue keeping each failed job with headers
 *                            `x-stratus-attempts` and `x-stratus-last-error`
 *
 * A failed message is republished (with confirm) to the retry queue of its attempt or to the dead
 * queue, and only then acked: if the process dies in between, the broker redelivers the original,
 * so a job may run twice but is never lost. Messages are persistent and publishes confirmed.
 * The queue arguments are part of the contract: RabbitMQ refuses to redeclare a queue with other
 * arguments (406), so changing the delays means new queue names (they carry the delay) and the old
 * ones drain by themselves.
 *
 * Connection loss (broker restart, network): every operation reconnects on demand; while consumers
 * exist a background loop reconnects with a growing delay and re-attaches them.
 */
import { connect, type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage, type Options } from 'amqplib';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import {
  confirmed, declareTopology, parseBody, rabbitTopology, tryAck, type RabbitTopology, HEADER_ATTEMPT, HEADER_ATTEMPTS, HEADER_LAST_ERROR, ROUTING_KEY,
} from './rabbitmq.topology.ts';
import {
  errorText, retryDecision, DEFAULT_RETRY_DELAYS_MS,
  type ConsumeOptions, type Consumer, type DeadLetter, type JobQueue, type MessageHandler, type QueueDepth,
} from './queue.ts';

export { rabbitTopology } from './rabbitmq.topology.ts';

export interface RabbitQueueOptions {
  url: string;
  /** Exchange name and queue-name prefix. Default `stratus.transfer`. */
  prefix?: string;
  retryDelaysMs?: readonly number[];
  log: Logger;
  /** How long `publish` keeps trying to reach the broker before UNAVAILABLE. Default 30 s. */
  publishTimeoutMs?: number;
}

interface Session {
  model: ChannelModel;
  confirm: ConfirmChannel;
}

interface Subscription {
  handler: MessageHandler;
  options: ConsumeOptions;
  channel: Channel | undefined;
  tag: string | undefined;
  inFlight: Set<Promise<void>>;
  stopped: boolean;
}

export class RabbitJobQueue implements JobQueue {
  readonly kind = 'rabbitmq';
  readonly names: RabbitTopology;
  private readonly delays: readonly number[];
  private readonly log: Logger;
  private current: Session | undefined;
  private connecting: Promise<Session> | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private reconnecting = false;
  private closed = false;

  private constructor(private readonly options: RabbitQueueOptions) {
    this.delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.names = rabbitTopology(options.prefix ?? 'stratus.transfer', this.delays);
    this.log = options.log;
  }

  /** Connects and declares the topology; fails (UNAVAILABLE) when the broker cannot be reached now. */
  static async connect(options: RabbitQueueOptions): Promise<RabbitJobQueue> {
    const queue = new RabbitJobQueue(options);
    await queue.session();
    return queue;
  }

  async publish(body: unknown, options: { messageId?: string } = {}): Promise<void> {
    const content = Buffer.from(JSON.stringify(body));
    const props: Options.Publish = { persistent: true, contentType: 'application/json', messageId: options.messageId, headers: { [HEADER_ATTEMPT]: 1 } };
    await this.retrying('publish', async (s) => {
      await confirmed((cb) => s.confirm.publish(this.names.exchange, ROUTING_KEY, content, props, cb));
    });
  }

  async consume(handler: MessageHandler, options: ConsumeOptions): Promise<Consumer> {
    const sub: Subscription = { handler, options, channel: undefined, tag: undefined, inFlight: new Set(), stopped: false };
    this.subscriptions.add(sub);
    await this.attach(sub, await this.session());
    return {
      stop: async () => {
        sub.stopped = true;
        this.subscriptions.delete(sub);
        const channel = sub.channel;
        if (channel && sub.tag) await channel.cancel(sub.tag).catch(() => undefined);
        await Promise.allSettled([...sub.inFlight]);
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
        const headers = msg.properties.headers ?? {};
        out.push({
          id: String(msg.properties.messageId ?? ''),
          body: parseBody(msg.content),
          attempts: Number(headers[HEADER_ATTEMPTS] ?? 0),
          lastError: String(headers[HEADER_LAST_ERROR] ?? ''),
        });
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
      if (sub.channel === ch && !sub.stopped) this.lost(session.model);
    });
    await ch.prefetch(sub.options.prefetch);
    const { consumerTag } = await ch.consume(
      this.names.queue,
      (msg) => {
        // null: the broker cancelled the consumer (queue deleted); start over.
        if (msg === null) this.lost(session.model);
        else this.deliver(sub, ch, msg);
      },
      { noAck: false },
    );
    sub.channel = ch;
    sub.tag = consumerTag;
  }

  private deliver(sub: Subscription, ch: Channel, msg: ConsumeMessage): void {
    const attempt = Math.max(1, Number(msg.properties.headers?.[HEADER_ATTEMPT] ?? 1) || 1);
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString('utf8'));
    } catch {
      // No retry can fix bytes that are not a job: the queue's dead-letter exchange keeps them.
      tryAck(() => ch.nack(msg, false, false));
      return;
    }
    const message = { id: String(msg.properties.messageId ?? ''), body, attempt, finalAttempt: attempt > this.delays.length, redelivered: msg.fields.redelivered };
    const task = (async () => {
      try {
        await sub.handler(message);
      } catch (error) {
        await this.reroute(msg, attempt, error, sub.options.isPermanent?.(error) ?? false);
      }
      // On a channel that died meanwhile this throws: the broker redelivers, the job is idempotent.
      ch.ack(msg);
    })()
      .catch((error: unknown) => this.log.warn({ err: error, messageId: message.id }, 'message left unacknowledged; the broker will redeliver it'))
      .finally(() => sub.inFlight.delete(task));
    sub.inFlight.add(task);
  }

  /** Republishes a failed message to the retry queue of its attempt, or to the dead queue. */
  private async reroute(msg: ConsumeMessage, attempt: number, error: unknown, permanent: boolean): Promise<void> {
    const decision = retryDecision(attempt, this.delays, permanent);
    // x-death grows with every trip through a TTL queue; our own headers say all we need.
    const { 'x-death': _death, 'x-first-death-exchange': _e, 'x-first-death-queue': _q, 'x-first-death-reason': _r, ...headers } = msg.properties.headers ?? {};
    const lastError = errorText(error);
    const target = decision.kind === 'retry' ? this.names.retry[this.delays.indexOf(decision.delayMs)]?.queue : this.names.dead;
    if (!target) throw new AppError('INTERNAL', 'no retry queue for the delay');
    const props: Options.Publish = {
      persistent: true,
      contentType: 'application/json',
      messageId: msg.properties.messageId as string | undefined,
      headers: decision.kind === 'retry'
        ? { ...headers, [HEADER_ATTEMPT]: attempt + 1, [HEADER_LAST_ERROR]: lastError }
        : { ...headers, [HEADER_ATTEMPTS]: attempt, [HEADER_LAST_ERROR]: lastError, 'x-stratus-failed-at': new Date().toISOString() },
    };
    const session = await this.session();
    await confirmed((cb) => session.confirm.sendToQueue(target, msg.content, props, cb));
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
