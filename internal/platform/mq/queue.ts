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
 * - A message whose handler never finished (process killed, connection lost) is delivered again
 *   with `redelivered: true` and the same attempt number: handlers must be idempotent.
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
}

export interface Consumer {
  /** Stops taking messages and waits for the handlers in flight. */
  stop(): Promise<void>;
}

export interface QueueDepth {
  /** Waiting for a consumer. */
  ready: number;
  /** Waiting out a retry delay. */
  retrying: number;
  dead: number;
}

export interface DeadLetter {
  id: string;
  body: unknown;
  attempts: number;
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

/** 5 s, 30 s, 5 min: a blip, a restart, an outage. Four runs in all before the dead-letter queue. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [5_000, 30_000, 300_000];

export type RetryDecision = { kind: 'retry'; delayMs: number } | { kind: 'dead' };

export function retryDecision(attempt: number, delaysMs: readonly number[], permanent: boolean): RetryDecision {
  const delayMs = delaysMs[attempt - 1];
  return permanent || delayMs === undefined ? { kind: 'dead' } : { kind: 'retry', delayMs };
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
