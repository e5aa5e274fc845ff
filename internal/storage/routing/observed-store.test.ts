import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStore } from '../local/local.store.ts';
import { observeStore, type StoreCall, type StoreCallObserver } from './observed-store.ts';

describe('observeStore', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'observed-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  function recorder(name: string, log: string[]): StoreCallObserver & { calls: StoreCall[] } {
    const calls: StoreCall[] = [];
    return {
      calls,
      async around(call, run) {
        calls.push(call);
        log.push(`${name}>${call.operation}`);
        try {
          return await run();
        } finally {
          log.push(`${name}<${call.operation}`);
        }
      },
    };
  }

  it('passes every call through each observer, the first outermost, with backend, type, operation and key', async () => {
    const log: string[] = [];
    const a = recorder('a', log);
    const b = recorder('b', log);
    const store = observeStore(new LocalObjectStore({ name: 'disk', root }), [a, b]);
    await store.put('k/1', Readable.from([Buffer.from('hello')]), 5);
    const got = await store.get('k/1');
    got.body.resume();
    expect(await store.head('k/1')).toMatchObject({ size: 5 });
    await store.delete('k/1');
    expect(a.calls.map((c) => c.operation)).toEqual(['put', 'get', 'head', 'delete']);
    expect(a.calls[0]).toEqual({ backend: 'disk', type: 'local', operation: 'put', key: 'k/1' });
    expect(log.slice(0, 4)).toEqual(['a>put', 'b>put', 'b<put', 'a<put']);
    expect(b.calls).toEqual(a.calls);
  });

  it('lets a failure reach the caller unchanged, after the observers saw it', async () => {
    const seen: unknown[] = [];
    const store = observeStore(new LocalObjectStore({ name: 'disk', root }), [
      {
        async around(_call, run) {
          try {
            return await run();
          } catch (error) {
            seen.push(error);
            throw error;
          }
        },
      },
    ]);
    const failure = await store.get('missing').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect(seen).toEqual([failure]);
  });

  it('returns the store itself when nothing observes it', () => {
    const plain = new LocalObjectStore({ name: 'disk', root });
    expect(observeStore(plain, [])).toBe(plain);
  });
});
