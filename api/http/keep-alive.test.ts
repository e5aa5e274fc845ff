/**
 * An idle keep-alive connection is not closed under a client about to reuse it: the server
 * advertises how long it keeps one (`Keep-Alive: timeout=`) and keeps it that long, past Node's
 * default of 5 s, so a request sent on a connection idle for 6 s is answered.
 */
import net from 'node:net';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startEmbeddedApp, type EmbeddedApp } from '../../test/support/embedded.ts';
import { KEEP_ALIVE_TIMEOUT_MS } from './keep-alive.ts';

let t: EmbeddedApp;
beforeAll(async () => {
  t = await startEmbeddedApp();
});
afterAll(() => t?.close());

/** Sends one GET /healthz on `socket` and reads its whole answer (the body is small JSON). */
async function ask(socket: net.Socket): Promise<string> {
  let text = '';
  const onData = (chunk: Buffer) => (text += chunk.toString('latin1'));
  socket.on('data', onData);
  socket.write('GET /healthz HTTP/1.1\r\nHost: stratus\r\n\r\n');
  const closed = once(socket, 'close').then(() => 'closed' as const);
  const deadline = Date.now() + 5_000;
  while (!/\r\n\r\n[\s\S]*\}$/.test(text) && Date.now() < deadline) {
    const step = await Promise.race([once(socket, 'data').then(() => 'data' as const), closed, new Promise((r) => setTimeout(r, 100, 'tick'))]);
    if (step === 'closed') break;
  }
  socket.off('data', onData);
  return text;
}

it('keeps an idle connection open for as long as it advertises, past 6 s, and answers on it', async () => {
  const url = new URL(t.url);
  const socket = net.connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  try {
    const first = await ask(socket);
    expect(first).toMatch(/^HTTP\/1\.1 200/);
    expect(first.toLowerCase()).toContain(`keep-alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}`);
    await new Promise((r) => setTimeout(r, 6_000));
    expect(socket.destroyed || socket.readableEnded).toBe(false);
    expect(await ask(socket)).toMatch(/^HTTP\/1\.1 200/);
  } finally {
    socket.destroy();
  }
}, 20_000);
