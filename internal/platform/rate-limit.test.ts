/** The shared rate limiter: client buckets (IPv6 by /64) and the doubling back-off, on the embedded KV. */
import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from './kv/memory.kv.ts';
import { clientBucket, RateLimiter } from './rate-limit.ts';

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
    const budget = { key: 'b', limit: 2, windowMs: 60_000, reason: 'r', message: 'm' };
    await limiter.take(budget);
    await limiter.take(budget);
    await expect(limiter.take(budget)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 60, details: { reason: 'r' } });
    const waits: number[] = [];
    for (const step of [1, 2, 3, 12]) {
      await limiter.backOff('f', step, { baseMs: 1000, maxMs: 900_000 });
      waits.push(await limiter.assertNotWaiting('f', 'w', 'm').then(() => 0, (e: { retryAfter: number }) => e.retryAfter));
    }
    expect(waits).toEqual([1, 2, 4, 900]);
    await limiter.forget('f');
    await expect(limiter.assertNotWaiting('f', 'w', 'm')).resolves.toBeUndefined();
  });
});
