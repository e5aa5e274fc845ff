import { afterAll } from 'vitest';
import { testEnv } from '../../../test/support/env.ts';
import { kvContract } from './kv.contract.ts';
import { MemoryKeyValueStore, MemoryPubSub } from './memory.kv.ts';
import { RedisKeyValueStore, RedisPubSub } from './redis.kv.ts';

kvContract('memory', () => ({ kv: new MemoryKeyValueStore(), pubsub: new MemoryPubSub() }));

const redisKv = new RedisKeyValueStore(testEnv.redisUrl);
const redisPubSub = new RedisPubSub(testEnv.redisUrl);
afterAll(async () => {
  await redisKv.close();
  await redisPubSub.close();
});
kvContract('redis', () => ({ kv: redisKv, pubsub: redisPubSub }));
