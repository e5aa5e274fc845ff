/** The shared rate limiter: client buckets (IPv6 by /64) and the doubling back-off, on the embedded KV. */
import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from './kv/memory.kv.ts';
import { clientBucket, RateLimiter, type Budget } from './rate-limit.ts';

describe('clientBucket', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6, counts IPv6 by its /64', () => {
    expect(clientBucket('203.0.113.7')).toBe('203.0.113.7');
    expect(clientBucket('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientBucket('2001:db8:0:12:aaaa::1')).toBe('2001:db8:0:12::/64');
    expect(clientBucket('2001:db8:0:12:bbbb:1:2:3')).toBe('2001:db8:0:12::/64');
    expect(clientBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientBucket('::1')).toBe('0:0:0:0::/64');
    expect(clientBucket(undefined)).toBe('unknown');
    expect(clientBucket('not an address')).toBe('unknown');
  });
});

describe('RateLimiter', () => {
  it('refuses past the budget with the time left, and backs off doubling up to the cap', async () => {
    const limiter = new RateLimiter(new MemoryKeyValueStore());
    const budget: Budget = { key: 'b', limit: 2, windowMs: 60_000, reason: 'proof_attempts', message: 'm' };
    await limiter.take(budget);
    await limiter.take(budget);
    await expect(limiter.take(budget)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60, details: { reason: 'proof_attempts' } });
    const waits: number[] = [];
    for (const step of [1, 2, 3, 12]) {
      await limiter.backOff('f', step, { baseMs: 1000, maxMs: 900_000 });
      waits.push(await limiter.assertNotWaiting('f', 'login_failures', 'm').then(() => 0, (e: { retryAfter: number }) => e.retryAfter));
    }
    expect(waits).toEqual([1, 2, 4, 900]);
    await limiter.forget('f');
    await expect(limiter.assertNotWaiting('f', 'login_failures', 'm')).resolves.toBeUndefined();
  });

  it('a budget of failures: checked before the attempt, counted only on failure, forgotten on success', async () => {
    const limiter = new RateLimiter(new MemoryKeyValueStore());
    const failures: Budget = { key: 'fail', limit: 2, windowMs: 900_000, reason: 'password_change_failures', message: 'm' };
    for (let i = 0; i < 2; i++) {
      await expect(limiter.assertUnspent(failures)).resolves.toBeUndefined();
      expect(await limiter.record(failures.key, failures.windowMs)).toBe(i + 1);
    }
    // Exactly at the limit: refused, with the time left in the window (15 min), and not counted.
    await expect(limiter.assertUnspent(failures)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 900, details: { reason: 'password_change_failures' } });
    expect(await limiter.record(failures.key, failures.windowMs)).toBe(3);
    await limiter.forget(failures.key);
    await expect(limiter.assertUnspent(failures)).resolves.toBeUndefined();
  });

  it('checks several budgets at once and answers with the spent one', async () => {
    const limiter = new RateLimiter(new MemoryKeyValueStore());
    const perToken: Budget = { key: 't', limit: 3, windowMs: 60_000, reason: 'share_password_attempts', message: 'm' };
    const perIp: Budget = { key: 'i', limit: 1, windowMs: 60_000, reason: 'login_client_budget', message: 'm', retryAfterMs: 30_000 };
    await limiter.record(perToken.key, perToken.windowMs);
    await expect(limiter.assertUnspent(perToken, perIp)).resolves.toBeUndefined();
    await limiter.record(perIp.key, perIp.windowMs);
    // A fixed Retry-After when the budget names one, not the time left.
    await expect(limiter.assertUnspent(perToken, perIp)).rejects.toMatchObject({ retryAfter: 30, details: { reason: 'login_client_budget' } });
  });

  it('take: the first `limit` events pass, then refused until the window ends; a fixed Retry-After is kept', async () => {
    const kv = new MemoryKeyValueStore();
    const limiter = new RateLimiter(kv);
    const once: Budget = { key: 'once', limit: 1, windowMs: 60_000, reason: 'code_send_interval', message: 'm' };
    await limiter.take(once);
    const refused = await limiter.take(once).catch((e: { retryAfter: number }) => e);
    expect(refused).toMatchObject({ code: 'RATE_LIMITED', details: { reason: 'code_send_interval' } });
    expect((refused as { retryAfter: number }).retryAfter).toBeGreaterThanOrEqual(59);
    expect((refused as { retryAfter: number }).retryAfter).toBeLessThanOrEqual(60);
    await kv.del('once');
    await expect(limiter.take(once)).resolves.toBeUndefined();
    const fixed: Budget = { key: 'proofs', limit: 0, windowMs: 60_000, reason: 'proof_attempts', message: 'm', retryAfterMs: 60_000 };
    await expect(limiter.take(fixed)).rejects.toMatchObject({ retryAfter: 60 });
    await expect(limiter.refusal(fixed)).resolves.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60, details: { reason: 'proof_attempts' } });
  });
});
