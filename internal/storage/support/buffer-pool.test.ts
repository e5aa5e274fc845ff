import { describe, expect, it } from 'vitest';
import { BufferPool } from './buffer-pool.ts';

describe('BufferPool', () => {
  it('lends a buffer given back again instead of making a new one', () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take();
    expect(a.length).toBe(1024);
    pool.give(a.subarray(0, 10)); // a view of it (a chunk read into it) gives the whole buffer back
    expect(pool.take()).toBe(a);
    expect(pool.stats()).toEqual({ created: 1, out: 1, free: 0 });
  });

  it('takes back only what it lent, and only once', () => {
    const pool = new BufferPool(1024, 4);
    const a = pool.take();
    pool.give(Buffer.alloc(1024)); // not its memory
    pool.give(Buffer.from('abc')); // a slice of Node's shared pool
    expect(pool.stats()).toEqual({ created: 1, out: 1, free: 0 });
    pool.give(a);
    pool.give(a); // a second give would lend one buffer to two reads
    expect(pool.stats()).toEqual({ created: 1, out: 0, free: 1 });
    const [b, c] = [pool.take(), pool.take()];
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('keeps at most `keep` idle buffers, leaving the rest of a burst to the GC', () => {
    const pool = new BufferPool(16, 2);
    const lent = Array.from({ length: 5 }, () => pool.take());
    for (const buffer of lent) pool.give(buffer);
    expect(pool.stats()).toEqual({ created: 5, out: 0, free: 2 });
  });

  it('lends buffers of their own memory', () => {
    const pool = new BufferPool(64, 2);
    const [a, b] = [pool.take(), pool.take()];
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(64);
  });
});
