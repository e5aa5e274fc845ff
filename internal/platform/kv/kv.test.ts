import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../../test/support/env.ts';
import { kvContract } from './kv.contract.ts';
import { MemoryKeyValueStore, MemoryPubSub } from './memory.kv.ts';
import { RedisKeyValueStore, RedisPubSub } from './redis.kv.ts';

kvContract('memory', () => ({ kv: new MemoryKeyValueStore(), pubsub: new MemoryPubSub() }));

const opened: { close(): Promise<void> }[] = [];
function redis(keyPrefix?: string) {
  const kv = new RedisKeyValueStore(testEnv.redisUrl, { keyPrefix });
  const pubsub = new RedisPubSub(testEnv.redisUrl, { keyPrefix });
  opened.push(kv, pubsub);
  return { kv, pubsub };
}
afterAll(() => Promise.all(opened.map((o) => o.close())));

const bare = redis();
kvContract('redis', () => bare);
const prefixed = redis(`kvtest:${randomBytes(4).toString('hex')}:`);
kvContract('redis with REDIS_KEY_PREFIX', () => prefixed);

describe('REDIS_KEY_PREFIX', () => {
  const run = randomBytes(4).toString('hex');
  const a = redis(`a${run}:`);
  const b = redis(`b${run}:`);

  it('keeps the keys of two prefixes apart; Redis holds them under the prefix', async () => {
    await a.kv.set('session', 'of a', { ttlMs: 60_000 });
    expect(await b.kv.get('session')).toBeNull();
    expect(await b.kv.set('session', 'of b', { ifAbsent: true, ttlMs: 60_000 })).toBe(true);
    expect(await bare.kv.get(`a${run}:session`)).toBe('of a');
    expect(await bare.kv.get(`b${run}:session`)).toBe('of b');
    expect(await bare.kv.get('session')).toBeNull();
    // A rate-limit budget (INCR + PEXPIRE in one MULTI) and a hash count apart too.
    expect(await a.kv.incr('budget', 60_000)).toBe(1);
    expect(await a.kv.incr('budget', 60_000)).toBe(2);
    expect(await b.kv.incr('budget', 60_000)).toBe(1);
    expect(await bare.kv.ttl(`a${run}:budget`)).toBeGreaterThan(0);
    await a.kv.hset('chunks', { '0': 'x' });
    expect(await b.kv.hlen('chunks')).toBe(0);
    expect(await a.kv.countExisting(['session', 'budget', 'chunks', 'none'])).toBe(3);
    expect(await a.kv.getdel('session')).toBe('of a');
    expect(await b.kv.get('session')).toBe('of b');
    await a.kv.del('budget', 'chunks');
    await b.kv.del('session', 'budget');
  });

  it('keeps the pub/sub channels of two prefixes apart', async () => {
    const got = { a: [] as string[], b: [] as string[], bare: [] as string[] };
    const offs = await Promise.all([
      a.pubsub.subscribe('transfer-progress', (m) => got.a.push(m)),
      b.pubsub.subscribe('transfer-progress', (m) => got.b.push(m)),
      bare.pubsub.subscribe(`a${run}:transfer-progress`, (m) => got.bare.push(m)),
    ]);
    await a.pubsub.publish('transfer-progress', 'from a');
    await b.pubsub.publish('transfer-progress', 'from b');
    await expect.poll(() => got).toEqual({ a: ['from a'], b: ['from b'], bare: ['from a'] });
    await sleep(50);
    expect(got).toEqual({ a: ['from a'], b: ['from b'], bare: ['from a'] });
    await Promise.all(offs.map((off) => off()));
  });
});
