/**
 * The access log: one pino line at `info` per HTTP request when it ends (`msg: "request"`) with
 * method, route template (never the URL: no query string, id, share or link token), status, bytes
 * sent, duration and request id. Nothing from the request's headers or body is logged, so no
 * token, password or share secret can reach it.
 *
 * Sampling (ACCESS_LOG_RATE, lines a second, default 100; 0 logs everything): the load is the
 * number of requests in the current second or the one before, whichever is higher. Up to the rate
 * every request is logged; above it one request in `ceil(load / rate)` is (a deterministic count,
 * not a coin toss), and that line carries `sampled: <that stride>` (it stands for that many), so
 * the log stays near the rate however busy the server is. Answers ≥ 500 are always logged.
 */
import type { Logger } from '../../internal/platform/logger.ts';

export interface AccessEntry {
  requestId: string;
  method: string;
  route: string;
  status: number;
  /** Bytes written to the connection for this answer (headers included). */
  bytes: number;
  ms: number;
  /** The client went away before the answer was complete. */
  aborted: boolean;
}

export interface AccessLogOptions {
  /** Lines a second logged in full; 0: no sampling. */
  ratePerSecond: number;
  /** Milliseconds; injected by tests. */
  now?: () => number;
}

export type AccessLog = (entry: AccessEntry) => void;

/** Decides which requests are logged: 0 to skip one, else how many requests its line stands for. */
export class AccessSampler {
  private second = Number.NEGATIVE_INFINITY;
  private inSecond = 0;
  private previous = 0;
  private sequence = 0;

  constructor(
    private readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(status: number): number {
    const second = Math.floor(this.now() / 1000);
    if (second !== this.second) {
      this.previous = second === this.second + 1 ? this.inSecond : 0;
      this.second = second;
      this.inSecond = 0;
    }
    this.inSecond++;
    const load = Math.max(this.previous, this.inSecond);
    if (this.rate <= 0 || load <= this.rate || status >= 500) return 1;
    const stride = Math.ceil(load / this.rate);
    this.sequence++;
    return this.sequence % stride === 0 ? stride : 0;
  }
}

export function createAccessLog(log: Logger, options: AccessLogOptions): AccessLog {
  const sampler = new AccessSampler(options.ratePerSecond, options.now);
  return (entry) => {
    if (!log.isLevelEnabled('info')) return;
    const sampled = sampler.take(entry.status);
    if (sampled === 0) return;
    const { aborted, ...fields } = entry;
    log.info({ ...fields, ...(aborted ? { aborted } : {}), ...(sampled > 1 ? { sampled } : {}) }, 'request');
  };
}
