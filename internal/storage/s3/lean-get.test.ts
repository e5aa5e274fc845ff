/**
 * lean-get.ts against a scripted HTTP server on loopback (no service): big socket reads, the
 * Content-Length framing, and that an abort closes the connection at once.
 */
import net from 'node:net';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { BufferPool } from '../support/buffer-pool.ts';
import { leanGet, LeanGetError } from './lean-get.ts';

const MiB = 1024 * 1024;
const OPTIONS = { connectTimeoutMs: 2_000, idleTimeoutMs: 2_000 };

interface Scripted {
  url: URL;
  /** The request heads received, and whether each connection has closed. */
  requests: string[];
  closed: Promise<void>;
}

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server that answers every connection with `answer` (it may keep the socket open). */
async function scripted(answer: (socket: net.Socket) => void): Promise<Scripted> {
  const requests: string[] = [];
  let closedResolve: () => void = () => {};
  const closed = new Promise<void>((r) => (closedResolve = r));
  const server = net.createServer((socket) => {
    socket.once('data', (head) => {
      requests.push(head.toString('latin1'));
      answer(socket);
    });
    socket.on('error', () => {});
    socket.on('close', closedResolve);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: new URL(`http://127.0.0.1:${port}/bucket/some%20key?X-Amz-Signature=abc`), requests, closed };
}

async function collect(body: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return chunks;
}

const pattern = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));

describe('leanGet', () => {
  it('sends one GET with Host, the given headers and Connection: close, and reads the body in reads above 64 KiB', async () => {
    const data = pattern(8 * MiB);
    const s = await scripted((socket) => {
      socket.write(`HTTP/1.1 206 Partial Content\r\nContent-Length: ${data.length}\r\nContent-Range: bytes 0-${data.length - 1}/${data.length * 2}\r\nETag: "e1"\r\n\r\n`);
      socket.end(data);
    });
    const answer = await leanGet(s.url, { range: `bytes=0-${data.length - 1}` }, OPTIONS);
    expect(answer).toMatchObject({ status: 206, length: data.length, headers: { etag: '"e1"', 'content-range': `bytes 0-${data.length - 1}/${data.length * 2}` } });
    const chunks = await collect(answer.body);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    // node:http would hand these over 64 KiB at a time; the point of the module is fewer, bigger reads.
    expect(Math.max(...chunks.map((c) => c.length))).toBeGreaterThan(64 * 1024);
    expect(s.requests[0]).toMatch(/^GET \/bucket\/some%20key\?X-Amz-Signature=abc HTTP\/1\.1\r\n/);
    expect(s.requests[0]).toContain(`host: ${s.url.host}\r\n`);
    expect(s.requests[0]).toContain(`range: bytes=0-${data.length - 1}\r\n`);
    expect(s.requests[0]).toContain('connection: close\r\n');
  });

  it('closes the upstream connection as soon as the body is destroyed mid-transfer', async () => {
    const s = await scripted((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${64 * MiB}\r\n\r\n`);
      socket.write(pattern(MiB)); // and then nothing more: the rest would come if the client stayed
    });
    const answer = await leanGet(s.url, {}, OPTIONS);
    await new Promise((r) => answer.body.once('readable', r));
    answer.body.destroy();
    const started = performance.now();
    await s.closed;
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('fails the body with bodyError when the connection is cut before Content-Length bytes came', async () => {
    const s = await scripted((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      socket.end(pattern(400));
    });
    const answer = await leanGet(s.url, {}, { ...OPTIONS, bodyError: (e) => new Error(`mapped: ${e.message}`) });
    await expect(collect(answer.body)).rejects.toThrow(/^mapped: connection closed with 600 bytes of the body missing/);
  });

  it('refuses a body longer than its Content-Length, in the first read or a later one', async () => {
    const first = await scripted((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef'));
    await expect(leanGet(first.url, {}, OPTIONS)).rejects.toBeInstanceOf(LeanGetError);
    const later = await scripted((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na');
      setTimeout(() => socket.end('bcdef'), 50);
    });
    const answer = await leanGet(later.url, {}, OPTIONS);
    await expect(collect(answer.body)).rejects.toThrow(/more than the 2 bytes left/);
  });

  it('gives a chunked answer or one without Content-Length as length null, and an error answer as its status', async () => {
    const chunked = await scripted((socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n'));
    const a = await leanGet(chunked.url, {}, OPTIONS);
    expect(a.length).toBeNull();
    a.body.destroy();
    const missing = await scripted((socket) => socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nNoSuchKey'));
    const b = await leanGet(missing.url, {}, OPTIONS);
    expect({ status: b.status, length: b.length }).toEqual({ status: 404, length: 9 });
    b.body.destroy();
  });

  it('reads an empty body, and fails on a malformed head or a silent server', async () => {
    const empty = await scripted((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(Buffer.concat(await collect((await leanGet(empty.url, {}, OPTIONS)).body)).length).toBe(0);
    const garbage = await scripted((socket) => socket.end('SSH-2.0-OpenSSH\r\n\r\n'));
    await expect(leanGet(garbage.url, {}, OPTIONS)).rejects.toThrow(/malformed response head/);
    const silent = await scripted(() => {});
    await expect(leanGet(silent.url, {}, { ...OPTIONS, idleTimeoutMs: 200 })).rejects.toThrow(/no byte for 200 ms/);
    await expect(leanGet(new URL('https://127.0.0.1/x'), {}, OPTIONS)).rejects.toThrow(/plain http only/);
  });

  it('with a pool, pushes big reads as views of pooled buffers, copies short ones, and every buffer can come back', async () => {
    const big = pattern(4 * MiB);
    const small = [Buffer.from('tail-1'), Buffer.from('tail-2'), Buffer.from('tail-3')];
    const total = big.length + small.reduce((n, b) => n + b.length, 0);
    const s = await scripted((socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${total}\r\n\r\n`);
      socket.write(big);
      // Short reads, one per write: each would pin a whole pooled MiB if it were pushed as it is.
      small.forEach((piece, i) => setTimeout(() => socket.write(piece), 40 * (i + 1)));
    });
    const pool = new BufferPool(MiB, 8);
    const answer = await leanGet(s.url, {}, { ...OPTIONS, pool });
    const chunks: Buffer[] = [];
    answer.body.on('data', (chunk: Buffer) => chunks.push(chunk));
    await finished(answer.body);
    expect(Buffer.concat(chunks).equals(Buffer.concat([big, ...small]))).toBe(true);
    const pooled = chunks.filter((c) => c.buffer.byteLength === MiB);
    expect(pooled.length).toBeGreaterThan(0);
    expect(pooled.every((c) => c.length >= MiB / 4)).toBe(true);
    expect(chunks.slice(-3).map((c) => c.buffer.byteLength === MiB)).toEqual([false, false, false]);
    expect(pool.stats().out).toBe(pooled.length + 1); // + the buffer of the read still waiting
    for (const chunk of chunks) pool.give(chunk);
    await s.closed;
    await new Promise((r) => setImmediate(r));
    expect(pool.stats().out).toBe(0); // the waiting read's buffer went back when the socket closed
  });
});
