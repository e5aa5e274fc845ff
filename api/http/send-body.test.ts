/**
 * send-body.ts: pipeline(body, res) that hands each chunk back only after its write, over real
 * loopback HTTP and over a Writable whose writes complete late.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ClientGone, sendBody } from './send-body.ts';

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: (res: http.ServerResponse) => Promise<void>): Promise<string> {
  const server = http.createServer((_req, res) => {
    void handler(res).catch(() => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

const chunks = (n: number, size: number) => Array.from({ length: n }, (_, i) => Buffer.alloc(size, i));

describe('sendBody', () => {
  it('sends every byte, then hands every chunk back by identity', async () => {
    const sent = chunks(32, 256 * 1024);
    const released: Buffer[] = [];
    let done: Promise<void> = Promise.resolve();
    const url = await serve(async (res) => {
      res.setHeader('content-length', 32 * 256 * 1024);
      done = sendBody(Readable.from(sent, { objectMode: false }), res, (chunk) => released.push(chunk));
      await done;
    });
    const got = Buffer.from(await (await fetch(url)).arrayBuffer());
    await done;
    expect(got.equals(Buffer.concat(sent))).toBe(true);
    expect(released).toHaveLength(sent.length);
    released.forEach((chunk, i) => expect(chunk).toBe(sent[i]));
  });

  it('hands a chunk back only once its write has completed', async () => {
    const written = new Set<Buffer>();
    const early: Buffer[] = [];
    // A destination whose writes complete 5 ms later, as a socket with a full kernel buffer.
    const slow = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        setTimeout(() => {
          written.add(chunk);
          callback();
        }, 5);
      },
    });
    const sent = chunks(10, 1024);
    await sendBody(Readable.from(sent, { objectMode: false }), slow, (chunk) => {
      if (!written.has(chunk)) early.push(chunk);
    });
    expect(written.size).toBe(10);
    expect(early).toEqual([]);
  });

  it('destroys the body at once when the client goes away, and rejects', async () => {
    const body = new Readable({ read() { setImmediate(() => this.push(Buffer.alloc(64 * 1024))); } });
    let outcome: Promise<unknown> = Promise.resolve();
    const started = new Promise<void>((resolve) => body.once('data', () => resolve()));
    const url = await serve(async (res) => {
      outcome = sendBody(body, res, () => {}).then(() => 'resolved', (error: unknown) => error);
      await outcome;
    });
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    await started;
    controller.abort();
    await response.body?.cancel().catch(() => {});
    expect(await outcome).toBeInstanceOf(ClientGone);
    expect(body.destroyed).toBe(true);
  });

  it("cuts the response when the body fails, so the client cannot take a short file for a whole one", async () => {
    let outcome: Promise<unknown> = Promise.resolve();
    const url = await serve(async (res) => {
      res.setHeader('content-length', 3 * 1024);
      const body = Readable.from(
        (async function* () {
          yield Buffer.alloc(1024);
          throw new Error('the backend broke off');
        })(),
        { objectMode: false },
      );
      outcome = sendBody(body, res, () => {}).then(() => 'resolved', (error: unknown) => (error as Error).message);
      await outcome;
    });
    const response = await fetch(url);
    await expect(response.arrayBuffer()).rejects.toThrow();
    expect(await outcome).toBe('the backend broke off');
  });
});
