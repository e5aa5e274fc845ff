/**
 * MultistatusWriter's waits for 'drain': a PROPFIND of a big folder waits many times on one
 * response, and each wait must leave no listener behind (they piled up, one 'close' and one 'error'
 * per wait, until Node warned of a leak at the 11th).
 */
import { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { describe, expect, it } from 'vitest';
import { MultistatusWriter } from './multistatus.ts';

/** A response whose socket is always full: every write waits for the next 'drain'. */
class FullResponse extends EventEmitter {
  destroyed = false;
  writableEnded = false;
  status() {
    return this;
  }
  setHeader() {}
  write() {
    setImmediate(() => this.emit('drain'));
    return false;
  }
}

describe('MultistatusWriter', () => {
  it('leaves no listener on the response after each wait for drain', async () => {
    const res = new FullResponse();
    const writer = new MultistatusWriter(res as unknown as Response);
    for (let i = 0; i < 50; i++) await writer.write(`<D:response>${i}</D:response>`);
    expect({ close: res.listenerCount('close'), error: res.listenerCount('error'), drain: res.listenerCount('drain') }).toEqual({ close: 0, error: 0, drain: 0 });
  });

  it('stops waiting when the client goes away', async () => {
    const res = new FullResponse();
    res.write = () => false; // never drains
    const writer = new MultistatusWriter(res as unknown as Response);
    const waiting = writer.write('<D:response/>');
    res.destroyed = true;
    res.emit('close');
    await waiting;
    expect(res.listenerCount('drain')).toBe(0);
  });
});
