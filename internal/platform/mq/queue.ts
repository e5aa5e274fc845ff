/**
 * The job-queue port: at-least-once delivery of JSON jobs with manual acknowledgement, bounded
 * prefetch, delayed retries and a dead-letter queue. RabbitMQ (`rabbitmq.queue.ts`) when AMQP_URL
 * is set, an in-process queue (`memory.queue.ts`) in the all-in-one process otherwise; both pass
 * `queue.contract.ts` and follow the same retry rules (`retryDecision`).
 *
 * Rules every implementation keeps:
 * - `publish` resolves only once the broker has taken responsibility for the message (publisher
 *   confirm); a rejection means the caller must assume it was NOT queued.
 * - A handler that resolves acks its message. A handler that throws sends it to the retry step for
 *   its attempt (delays grow, `retryDelaysMs[attempt - 1]`), or, once the delays are used up or the
 *   error is permanent, to the dead-letter queue with the last error kept beside the job.
 * - A message whose handler never finished (process killed, connection lost, consumer stopped
 *   with its grace run out) is delivered again with `redelivered: true` and the same attempt
 *   number: handlers must be idempotent. Those unfinished deliveries are counted durably (RabbitMQ:
 *   the quorum queue's `x-delivery-count`), so a job that kills its worker every time cannot loop
 *   for ever: once `maxDeliveries` deliveries of one attempt ended unfinished, the next delivery
 *   never reaches the handler. The job goes to the dead-letter queue with reason `delivery_limit`,
 *   and `onDeadLetter` tells the consumer's owner first (its handler never got to record a failure).
 */
export interface QueueMessage {
  /** The publisher's message id (stable across retries and redeliveries). */
  id: string;
  body: unknown;
  /** 1 for the first run, 2 after one retry, ... (a redelivery after a crash keeps the number). */
  attempt: number;
  /** True when a failure now goes to the dead-letter queue rather than to a retry. */
  finalAttempt: boolean;
  redelivered: boolean;
}

export type MessageHandler = (message: QueueMessage) => Promise<void>;

export interface ConsumeOptions {
  /** Messages in flight at once (AMQP basic.qos prefetch). */
  prefetch: number;
  /** Errors no retry can fix (a malformed job): straight to the dead-letter queue. */
  isPermanent?: (error: unknown) => boolean;
  /**
   * Called before a job is dead-lettered without its handler having failed it (`delivery_limit`),
   * so its owner can record the failure. A rejection leaves the job queued to be tried again.
   */
  onDeadLetter?: (dead: DeadLetter) => Promise<void>;
}

export interface StopOptions {
  /**
   * How long to wait for the handlers in flight; unset: as long as they take. Handlers still
   * running then are given up: their messages go back to the queue as an unfinished delivery
   * (which counts toward the delivery limit), exactly as if the process had died.
   */
  graceMs?: number;
}

export interface Consumer {
  /** Stops taking messages and waits for the handlers in flight (see StopOptions). */
  stop(options?: StopOptions): Promise<void>;
}

export interface QueueDepth {
  /** Waiting for a consumer. */
  ready: number;
  /** Waiting out a retry delay. */
  retrying: number;
  dead: number;
}

/**
 * Why a job is in the dead-letter queue (stable strings, kept in the `x-stratus-dead-reason` header):
 * its retries ran out, its error was permanent, it was delivered `maxDeliveries` times without
 * finishing, or it was not a job at all (the broker's `rejected`).
 */
export type DeadLetterReason = 'retries_exhausted' | 'permanent_error' | 'delivery_limit' | 'rejected';

export interface DeadLetter {
  id: string;
  body: unknown;
  /** The attempt it died in (1 + the retries it had). */
  attempts: number;
  reason: DeadLetterReason;
  lastError: string;
}

export interface JobQueue {
  readonly kind: 'rabbitmq' | 'memory';
  publish(body: unknown, options?: { messageId?: string }): Promise<void>;
  consume(handler: MessageHandler, options: ConsumeOptions): Promise<Consumer>;
  depth(): Promise<QueueDepth>;
  /** The first `limit` dead letters, left in place (for inspection; the admin view reads the database). */
  peekDead(limit: number): Promise<DeadLetter[]>;
  close(): Promise<void>;
}

/** Unfinished deliveries of one attempt before the dead-letter queue (TRANSFER_MAX_DELIVERIES). */
export const DEFAULT_MAX_DELIVERIES = 5;

/** The `lastError` of a job dead-lettered by the delivery limit. */
export function deliveryLimitText(deliveries: number): string {
  return `delivery_limit: delivered ${deliveries} times, never finished (worker crashed, killed or disconnected)`;
}

/** 5 s, 30 s, 5 min: a blip, a restart, an outage. Four runs in all before the dead-letter queue. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 300_000];

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'dead'; reason: 'retries_exhausted' | 'permanent_error' };

export function retryDecision(attempt: number, delaysMs: readonly number[], permanent: boolean): RetryDecision {
  if (permanent) return { kind: 'dead', reason: 'permanent_error' };
  const delayMs = delaysMs[attempt - 1];
  return delayMs === undefined ? { kind: 'dead', reason: 'retries_exhausted' } : { kind: 'retry', delayMs };
}

/** `5s`, `30s`, `5m`, `250ms`: the suffix of a retry queue's name. */
export function delayLabel(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

/** Errors as they are kept beside a dead letter: short, one line, never a stack. */
export function errorText(error: unknown): string {
  const e = error as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  const text = typeof e?.code === 'string' ? `${e.code}: ${message}` : message;
  return text.replace(/\s+/g, ' ').slice(0, 1000);
}
