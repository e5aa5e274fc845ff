import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { finished } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { resumingBody } from './resuming-body.ts';

const CONTENT = 'abcdefghijklmnopqrstuvwxyz';

/** A backend body from `offset` that sends `cut` bytes, then breaks off (or, with `end`, just stops). */
function breaking(offset: number, cut: number, how: 'error' | 'end' = 'error'): Readable {
  async function* gen() {
    yield Buffer.from(CONTENT.slice(offset, offset + cut));
    if (how === 'error') throw new Error('ECONNRESET from the backend');
  }
  return Readable.from(gen(), { objectMode: false });
}
const whole = (offset: number) => Readable.from([Buffer.from(CONTENT.slice(offset))], { objectMode: false });

describe('resumingBody', () => {
  it('reads the rest again from where the backend broke off, and sends every byte once', async () => {
    const offsets: number[] = [];
    const body = resumingBody({ body: breaking(0, 5), etag: 'e' }, CONTENT.length, async (offset) => {
      offsets.push(offset);
      return { body: offsets.length === 1 ? breaking(offset, 7) : whole(offset), etag: 'e' };
    });
    expect(await text(body)).toBe(CONTENT);
    expect(offsets).toEqual([5, 12]);
  });

  it('treats a body that ends short like one that broke off', async () => {
    const body = resumingBody({ body: breaking(0, 10, 'end'), etag: 'e' }, CONTENT.length, async (offset) => ({ body: whole(offset), etag: 'e' }));
    expect(await text(body)).toBe(CONTENT);
  });

  it('gives up after its attempts, and when the object changed meanwhile', async () => {
    const always = resumingBody({ body: breaking(0, 2), etag: 'e' }, CONTENT.length, async (offset) => ({ body: breaking(offset, 2), etag: 'e' }), 2);
    await expect(text(always)).rejects.toThrow(/ECONNRESET/);
    const changed = resumingBody({ body: breaking(0, 2), etag: 'e' }, CONTENT.length, async (offset) => ({ body: whole(offset), etag: 'other' }));
    await expect(text(changed)).rejects.toThrow(/object changed/);
  });

  it('passes a whole body through untouched and closes the backend body when the reader goes', async () => {
    expect(await text(resumingBody({ body: whole(0), etag: 'e' }, CONTENT.length, () => Promise.reject(new Error('not asked'))))).toBe(CONTENT);
    // Endless, one chunk per turn of the loop as a socket delivers (a source that pushed forever
    // within one read() would never let the reader's destroy run).
    const source = new Readable({ read() { setImmediate(() => this.push(Buffer.alloc(1024))); } });
    const body = resumingBody({ body: source, etag: 'e' }, 10 * 1024 * 1024, () => Promise.reject(new Error('not asked')));
    await new Promise<void>((resolve) => body.once('data', () => resolve()));
    body.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(source.destroyed).toBe(true);
  });

  it("hands on the backend's own chunks, neither merged nor copied (pooled buffers are given back by identity)", async () => {
    const originals = [Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghi')];
    // Three chunks queued at once: an async iterator's read() would merge them into one copy.
    const source = new Readable({
      read() {
        for (const chunk of originals) this.push(chunk);
        this.push(null);
      },
    });
    source.read(0);
    const body = resumingBody({ body: source, etag: 'e' }, 9, () => Promise.reject(new Error('not asked')));
    const got: Buffer[] = [];
    body.on('data', (chunk: Buffer) => got.push(chunk));
    await finished(body);
    expect(got).toHaveLength(3);
    got.forEach((chunk, i) => expect(chunk).toBe(originals[i]));
  });
});
