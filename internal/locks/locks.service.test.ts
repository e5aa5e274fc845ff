import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.ts';
import { MemoryKeyValueStore } from '../platform/kv/memory.kv.ts';
import { createLocks, keyOf, MAX_TIMEOUT_SECONDS, parseTimeout, type LockRequest } from './index.ts';

const U = 'user-1';
const req = (path: string[], over: Partial<LockRequest> = {}): LockRequest => ({
  root: keyOf(path), href: `/dav/${path.join('/')}`, depth: '0', scope: 'exclusive', owner: null, timeoutSeconds: 60, ...over,
});
const reasonOf = async (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (AppError.is(e) ? e.details?.reason : e));

function setup() {
  let now = 1_000_000;
  const locks = createLocks(new MemoryKeyValueStore(), () => now);
  return { locks, advance: (ms: number) => (now += ms) };
}

describe('WebDAV locks', () => {
  it('an exclusive lock blocks any other lock; shared locks share', async () => {
    const { locks } = setup();
    await locks.lock(U, req(['a']));
    expect(await reasonOf(locks.lock(U, req(['A'])))).toBe('locked');
    expect(await reasonOf(locks.lock(U, req(['a'], { scope: 'shared' })))).toBe('locked');
    await locks.lock(U, req(['b'], { scope: 'shared' }));
    await locks.lock(U, req(['b'], { scope: 'shared' }));
    expect(await reasonOf(locks.lock(U, req(['b'])))).toBe('locked');
    expect(await locks.covering(U, keyOf(['b']))).toHaveLength(2);
  });

  it('depth infinity covers the subtree, and a lock below blocks an infinite one above', async () => {
    const { locks } = setup();
    const top = await locks.lock(U, req(['d'], { depth: 'infinity' }));
    expect(await reasonOf(locks.lock(U, req(['d', 'x'])))).toBe('locked');
    expect(await reasonOf(locks.assertWritable(U, keyOf(['d', 'x', 'y']), new Set()))).toBe('locked');
    await locks.assertWritable(U, keyOf(['d', 'x', 'y']), new Set([top.token]));
    await locks.assertWritable(U, keyOf(['dx']), new Set());
    await locks.lock(U, req(['e', 'f']));
    expect(await reasonOf(locks.lock(U, req(['e'], { depth: 'infinity' })))).toBe('locked');
    await locks.lock(U, req(['e']));
  });

  it('a write needs the token; deleting a folder needs the tokens of locks below it', async () => {
    const { locks } = setup();
    const lock = await locks.lock(U, req(['f', 'g']));
    expect(await reasonOf(locks.assertWritable(U, keyOf(['f', 'g']), new Set(['opaquelocktoken:other'])))).toBe('locked');
    await locks.assertWritable(U, keyOf(['f']), new Set());
    expect(await reasonOf(locks.assertWritable(U, keyOf(['f']), new Set(), { subtree: true }))).toBe('locked');
    await locks.assertWritable(U, keyOf(['f']), new Set([lock.token]), { subtree: true });
  });

  it('of shared locks on one root one submitted token suffices', async () => {
    const { locks } = setup();
    const one = await locks.lock(U, req(['s'], { scope: 'shared' }));
    await locks.lock(U, req(['s'], { scope: 'shared' }));
    await locks.assertWritable(U, keyOf(['s']), new Set([one.token]));
  });

  it('locks expire; refresh extends; unlock needs a lock that covers the path', async () => {
    const { locks, advance } = setup();
    const lock = await locks.lock(U, req(['t']));
    advance(50_000);
    const refreshed = await locks.refresh(U, keyOf(['t']), new Set([lock.token]), 60);
    expect(refreshed.token).toBe(lock.token);
    advance(50_000);
    expect(await locks.covering(U, keyOf(['t']))).toHaveLength(1);
    expect(await reasonOf(locks.refresh(U, keyOf(['t']), new Set(['opaquelocktoken:x']), 60))).toBe('lock_token_unknown');
    expect(await reasonOf(locks.unlock(U, keyOf(['u']), lock.token))).toBe('lock_token_unknown');
    advance(61_000);
    expect(await locks.covering(U, keyOf(['t']))).toHaveLength(0);
    await locks.lock(U, req(['t']));
  });

  it('releaseUnder drops the locks of a deleted subtree, not of a sibling with a longer name', async () => {
    const { locks } = setup();
    await locks.lock(U, req(['r', 'x']));
    await locks.lock(U, req(['rr']));
    await locks.releaseUnder(U, keyOf(['r']));
    expect((await locks.all(U)).map((l) => l.root)).toEqual(['/rr']);
  });

  it('parses Timeout: first supported value, capped, Infinite capped', () => {
    expect(parseTimeout(undefined)).toBeNull();
    expect(parseTimeout('Second-10')).toBe(10);
    expect(parseTimeout('Bogus, Second-99999999999')).toBe(MAX_TIMEOUT_SECONDS);
    expect(parseTimeout('Infinite, Second-4100000000')).toBe(MAX_TIMEOUT_SECONDS);
    expect(parseTimeout('Second-0')).toBe(1);
    expect(parseTimeout('junk')).toBeNull();
  });
});
