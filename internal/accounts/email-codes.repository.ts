/**
 * One-time e-mail codes in the key-value store: 6 digits, valid 10 minutes, burned after 5 wrong
 * tries, at most one send per minute per address (and 10 an hour). Only a digest of the code is
 * kept. Keys: `acct:code:<email>` (digest), `acct:code:<email>:tries`, `acct:code:<email>:sent`.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { KeyValueStore } from '../platform/kv/kv.ts';
import { RateLimiter } from '../platform/rate-limit.ts';

export const CODE_TTL_MS = 10 * 60_000;
export const MAX_TRIES = 5;
const SEND_INTERVAL_MS = 60_000;
const SENDS_PER_HOUR = 10;

const digest = (code: string) => createHash('sha256').update(code).digest();

export class EmailCodeStore {
  private readonly limiter: RateLimiter;

  constructor(private readonly kv: KeyValueStore) {
    this.limiter = new RateLimiter(kv);
  }

  /** A fresh code for the address; RATE_LIMITED when one was sent less than a minute ago. */
  async issue(email: string): Promise<string> {
    const key = `acct:code:${email}`;
    await this.limiter.take({
      key: `${key}:sent`,
      limit: 1,
      windowMs: SEND_INTERVAL_MS,
      reason: 'code_send_interval',
      message: 'A code was sent to this address less than a minute ago',
    });
    await this.limiter.take({
      key: `${key}:hour`,
      limit: SENDS_PER_HOUR,
      windowMs: 3_600_000,
      reason: 'code_send_hourly',
      message: 'Too many codes were sent to this address; try again later',
    });
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await this.kv.set(key, digest(code).toString('hex'), { ttlMs: CODE_TTL_MS });
    await this.kv.del(`${key}:tries`);
    return code;
  }

  /**
   * Checks the code without using it up (a wrong one counts as a try). Registration checks the
   * code before anything else, so only the owner of an address learns that it is registered.
   */
  async verify(email: string, code: string): Promise<string> {
    const key = `acct:code:${email}`;
    const stored = await this.kv.get(key);
    if (!stored || !/^\d{6}$/.test(code)) throw invalid();
    const tries = await this.kv.incr(`${key}:tries`, CODE_TTL_MS);
    if (tries > MAX_TRIES) {
      await this.kv.del(key);
      throw invalid();
    }
    if (!timingSafeEqual(Buffer.from(stored, 'hex'), digest(code))) {
      if (tries >= MAX_TRIES) await this.kv.del(key);
      throw invalid();
    }
    return stored;
  }

  /** Uses the code up: when two requests race with the right code, exactly one wins (getdel). */
  async consume(email: string, code: string): Promise<void> {
    const key = `acct:code:${email}`;
    const stored = await this.verify(email, code);
    if ((await this.kv.getdel(key)) !== stored) throw invalid();
    await this.kv.del(`${key}:tries`);
  }
}

function invalid(): AppError {
  return new AppError('BAD_INPUT', 'The code is wrong or has expired; request a new one', {
    details: { field: 'code', reason: 'code_invalid' },
  });
}
