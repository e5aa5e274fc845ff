/** The one contract every KeyValueStore/PubSub implementation passes (run from kv.test.ts). */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { KeyValueStore, PubSub } from './kv.ts';

export function kvContract(name: string, make: () => { kv: KeyValueStore; pubsub: PubSub }) {
  describe(`KeyValueStore contract: ${name}`, () => {
    const k = () => `test:${randomUUID()}`;

    it('sets, gets and deletes', async () => {
      const { kv } = make();
      const key = k();
      expect(await kv.get(key)).toBeNull();
      expect(await kv.set(key, 'v')).toBe(true);
      expect(await kv.get(key)).toBe('v');
      expect(await kv.del(key)).toBe(1);
      expect(await kv.get(key)).toBeNull();
    });

    it('counts which of many keys exist', async () => {
      const { kv } = make();
      const keys = Array.from({ length: 2500 }, () => k());
      expect(await kv.countExisting([])).toBe(0);
      expect(await kv.countExisting(keys)).toBe(0);
      await kv.set(keys[3] ?? '', 'x');
      await kv.set(keys[2100] ?? '', 'y', { ttlMs: 60_000 });
      expect(await kv.countExisting(keys)).toBe(2);
      await kv.del(keys[3] ?? '', keys[2100] ?? '');
    });

    it('set ifAbsent refuses an existing key', async () => {
      const { kv } = make();
      const key = k();
      expect(await kv.set(key, 'a', { ifAbsent: true })).toBe(true);
      expect(await kv.set(key, 'b', { ifAbsent: true })).toBe(false);
      expect(await kv.get(key)).toBe('a');
    });

    it('expires keys after their TTL', async () => {
      const { kv } = make();
      const key = k();
      await kv.set(key, 'v', { ttlMs: 60 });
      const ttl = await kv.ttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(60);
      await sleep(120);
      expect(await kv.get(key)).toBeNull();
      expect(await kv.ttl(key)).toBe(-2);
    });

    it('incr counts atomically and keeps the first TTL (fixed window)', async () => {
      const { kv } = make();
      const key = k();
      const values = await Promise.all(Array.from({ length: 20 }, () => kv.incr(key, 10_000)));
      expect([...values].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const ttl = await kv.ttl(key);
      expect(ttl).toBeGreaterThan(9_000);
    });

    it('hashes: hset, hgetall, hdel; expire refreshes', async () => {
      const { kv } = make();
      const key = k();
      await kv.hset(key, { a: '1', b: '2' });
      await kv.hset(key, { b: '3' });
      expect(await kv.hgetall(key)).toEqual({ a: '1', b: '3' });
      expect(await kv.hdel(key, 'a', 'zz')).toBe(1);
      expect(await kv.expire(key, 5_000)).toBe(true);
      expect(await kv.ttl(key)).toBeGreaterThan(4_000);
      expect(await kv.hgetall(k())).toEqual({});
    });

    it('incrby adds and subtracts; exists tells', async () => {
      const { kv } = make();
      const key = k();
      expect(await kv.exists(key)).toBe(false);
      expect(await kv.incrby(key, 5)).toBe(5);
      expect(await kv.incrby(key, -2)).toBe(3);
      expect(await kv.exists(key)).toBe(true);
    });

    it('hsetnx sets a field once, even when many race; hlen counts fields', async () => {
      const { kv } = make();
      const key = k();
      const won = await Promise.all(Array.from({ length: 10 }, (_, i) => kv.hsetnx(key, 'f', String(i))));
      expect(won.filter(Boolean)).toHaveLength(1);
      await kv.hsetnx(key, 'g', 'x');
      expect(await kv.hlen(key)).toBe(2);
      expect(await kv.hlen(k())).toBe(0);
    });

    it('getdel hands a value to exactly one of many concurrent readers', async () => {
      const { kv } = make();
      const key = k();
      await kv.set(key, 'once');
      const results = await Promise.all(Array.from({ length: 10 }, () => kv.getdel(key)));
      expect(results.filter((r) => r === 'once')).toHaveLength(1);
    });

    it('pub/sub delivers in order to every subscriber until unsubscribed', async () => {
      const { pubsub } = make();
      const channel = k();
      const a: string[] = [];
      const b: string[] = [];
      const offA = await pubsub.subscribe(channel, (m) => a.push(m));
      const offB = await pubsub.subscribe(channel, (m) => b.push(m));
      for (const m of ['1', '2', '3']) await pubsub.publish(channel, m);
      await expect.poll(() => a.length).toBe(3);
      await expect.poll(() => b.length).toBe(3);
      expect(a).toEqual(['1', '2', '3']);
      await offA();
      await pubsub.publish(channel, '4');
      await expect.poll(() => b.length).toBe(4);
      expect(a).toEqual(['1', '2', '3']);
      await offB();
    });
  });
}
