/**
 * Rate limits over the key-value store, written once for every service (sign-in, e-mail codes,
 * password changes, share passwords, ownership proofs). Every count is a fixed window that starts
 * at its first event: one atomic INCR with PEXPIRE NX, so parallel requests cannot all slip under
 * the limit. Three shapes:
 *
 * - `take`: a budget of `limit` events per window; the event is counted, then refused past it.
 * - `assertUnspent` + `record`: a budget of failures; checked before the attempt (refused once
 *   `limit` failures are in the window) and counted only when the attempt fails (`forget` on
 *   success where the caller wants that).
 * - `record` + `backOff` + `assertNotWaiting`: failures counted in a window; past the free ones,
 *   each further failure sets a wait that doubles (1 s, 2 s, 4 s … up to a cap). A back-off delays
 *   the one who keeps failing instead of locking a key out for a fixed time.
 *
 * Refusals are `RATE_LIMITED` with `retryAfter` (seconds, RFC 9110 §10.2.3 Retry-After): the time
 * left in the window, or the budget's fixed `retryAfterMs`; and the budget's stable `details.reason`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { AppError, type ErrorReason } from './errors.ts';
import type { KeyValueStore } from './kv/kv.ts';

export interface Budget {
  key: string;
  limit: number;
  windowMs: number;
  reason: ErrorReason;
  message: string;
  /** A fixed Retry-After for refusals instead of the time left in the window. */
  retryAfterMs?: number;
}

export interface BackOff {
  /** First wait; doubled for every step after the first. */
  baseMs: number;
  maxMs: number;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class RateLimiter {
  constructor(private readonly kv: KeyValueStore) {}

  /** Counts one event against the budget; past its limit RATE_LIMITED until the window ends. */
  async take(budget: Budget): Promise<void> {
    const used = await this.kv.incr(budget.key, budget.windowMs);
    if (used <= budget.limit) return;
    throw await this.refusal(budget);
  }

  /** RATE_LIMITED when any of the budgets already has `limit` events in its window (counts none). */
  async assertUnspent(...budgets: Budget[]): Promise<void> {
    const used = await Promise.all(budgets.map(async (budget) => Number((await this.kv.get(budget.key)) ?? 0)));
    const spent = budgets.find((budget, i) => (used[i] ?? 0) >= budget.limit);
    if (spent) throw await this.refusal(spent);
  }

  /** The RATE_LIMITED error of `budget` (for a caller that refuses on a condition of its own too). */
  async refusal(budget: Budget): Promise<AppError> {
    if (budget.retryAfterMs !== undefined) return limited(budget.message, budget.reason, budget.retryAfterMs);
    const left = await this.kv.ttl(budget.key);
    return limited(budget.message, budget.reason, left > 0 ? left : budget.windowMs);
  }

  /** Counts one failure under `key` in a window that starts at the first; returns the count. */
  record(key: string, windowMs: number): Promise<number> {
    return this.kv.incr(key, windowMs);
  }

  /** Makes `key` wait `base · 2^(step−1)` ms (capped); step 1 is the first failure past the free ones. */
  async backOff(key: string, step: number, policy: BackOff): Promise<void> {
    const ms = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(Math.max(0, step - 1), 30));
    await this.kv.set(`${key}:wait`, String(step), { ttlMs: ms });
  }

  /** RATE_LIMITED while a back-off of `key` runs. */
  async assertNotWaiting(key: string, reason: ErrorReason, message: string): Promise<void> {
    const left = await this.kv.ttl(`${key}:wait`);
    if (left > 0) throw limited(message, reason, left);
  }

  /** Drops the failures and any back-off of `key`. */
  async forget(key: string): Promise<void> {
    await this.kv.del(key, `${key}:wait`);
  }
}

function limited(message: string, reason: ErrorReason, ms: number): AppError {
  return new AppError('RATE_LIMITED', message, { retryAfter: seconds(ms), details: { reason } });
}

/**
 * The bucket name of a client address: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4), IPv6
 * by its /64 — one host's interface routinely holds a whole /64 (RFC 4291 §2.5.1, SLAAC), so
 * counting single IPv6 addresses would give one client 2^64 budgets. No address: 'unknown'.
 */
export function clientBucket(address: string | undefined): string {
  if (!address) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return mapped[1];
  if (isIPv4(address)) return address;
  if (!isIPv6(address)) return 'unknown';
  const [head = '', tail = ''] = address.split('%')[0]!.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
