/**
 * The CLI library's upload (cli/lib/upload.ts) retries a failed chunk PUT with backoff for ~37 s:
 * right for a network that went away for a moment, wrong when the caller itself aborted through
 * `options.signal` — that must end the upload at once, with the abort's error, not after retries.
 */
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StratusApi } from '../../cli/lib/api.ts';
import { uploadFile } from '../../cli/lib/upload.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { until } from '../support/chunks.ts';
import { makeFile } from '../support/files.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';

const MiB = 1024 * 1024;

let t: TestApp;
let api: StratusApi;

beforeAll(async () => {
  t = await startTestApp();
  api = new StratusApi(t.url, (await t.signUp()).token);
});
afterAll(() => t?.close());

/** Leaves no open session (and no multipart upload on the backend) behind. */
const cancel = (id: string | undefined) =>
  id === undefined ? undefined : api.gql('mutation($id: ID!) { cancelUpload(sessionId: $id) }', { id }).catch(() => undefined);

describe('uploadFile and its caller\'s abort', () => {
  it('rejects with the abort\'s error promptly when the caller aborts mid-upload, retrying nothing', async () => {
    const file = await makeFile('abort.bin', 40 * MiB);
    const controller = new AbortController();
    let abortedAt = 0;
    let sessionId: string | undefined;
    const upload = uploadFile(api, file, {
      noInstant: true,
      parallel: 2,
      chunkSize: 4 * MiB,
      onSession: (s) => (sessionId = s.id),
      // After the first chunk: the other worker's PUT is in flight, later chunks are still queued.
      onProgress: (sent) => {
        if (sent > 0 && abortedAt === 0) {
          abortedAt = Date.now();
          controller.abort();
        }
      },
      signal: controller.signal,
    });
    const outcome = await Promise.race([
      upload.then(() => 'completed', (error: Error) => ({ name: error.name, afterAbortMs: Date.now() - abortedAt })),
      // Well past "promptly", well short of the ~37 s of backoff: the test need not wait for it.
      sleep(5_000).then(() => 'still retrying 5 s later'),
    ]);
    await upload.catch(() => undefined);
    await cancel(sessionId);
    expect(abortedAt).toBeGreaterThan(0);
    expect(outcome).toEqual({ name: 'AbortError', afterAbortMs: expect.any(Number) as number });
    expect((outcome as { afterAbortMs: number }).afterAbortMs).toBeLessThan(1_000);
  }, 60_000);

  it('wakes from a backoff wait when the caller gives up on a network that stays down', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(t.url).port) });
    try {
      const file = await makeFile('down.bin', 24 * MiB);
      const controller = new AbortController();
      let sessionId: string | undefined;
      let cutAt = 0;
      const upload = uploadFile(new StratusApi(proxy.url, api.token), file, {
        noInstant: true,
        parallel: 2,
        chunkSize: 4 * MiB,
        onSession: (s) => (sessionId = s.id),
        onProgress: (sent) => {
          if (sent > 0 && cutAt === 0) {
            cutAt = Date.now();
            proxy.cut();
          }
        },
        signal: controller.signal,
      });
      const settled = upload.then(() => 'completed', (error: Error) => error.name);
      // 3.5 s after the cut the chunks are in the 3.2 s wait before their 5th attempt (0.4 + 0.8 +
      // 1.6 s of waits before it): a wait that ignored the abort would end ~2.5 s later.
      await until(() => Promise.resolve(cutAt > 0), 'the first chunk', 20_000);
      await sleep(cutAt + 3_500 - Date.now());
      const abortedAt = Date.now();
      controller.abort();
      const outcome = await Promise.race([settled, sleep(5_000).then(() => 'still waiting 5 s later')]);
      const afterAbortMs = Date.now() - abortedAt;
      proxy.restore();
      await upload.catch(() => undefined);
      await cancel(sessionId);
      expect(outcome).toBe('AbortError');
      expect(afterAbortMs).toBeLessThan(1_000);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('ends a GraphQL call the server never answers when the caller aborts', async () => {
    // A server that takes the connection and the request, and says nothing: only the abort ends it.
    const held: net.Socket[] = [];
    const silent = net.createServer((socket) => {
      held.push(socket);
      socket.resume();
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    try {
      const { port } = silent.address() as net.AddressInfo;
      const file = await makeFile('silent.bin', 1 * MiB);
      const controller = new AbortController();
      const upload = uploadFile(new StratusApi(`http://127.0.0.1:${port}`, api.token), file, { noInstant: true, signal: controller.signal });
      const settled = upload.then(() => 'completed', (error: Error) => error.name);
      await until(() => Promise.resolve(held.length > 0), 'the first request', 10_000);
      await sleep(200);
      const abortedAt = Date.now();
      controller.abort();
      const outcome = await Promise.race([settled, sleep(5_000).then(() => 'still waiting 5 s later')]);
      expect(outcome).toBe('AbortError');
      expect(Date.now() - abortedAt).toBeLessThan(1_000);
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  }, 30_000);

  it('still rides out a network that drops every connection for a moment (retried, completed)', async () => {
    const port = Number(new URL(t.url).port);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port });
    try {
      const file = await makeFile('blip.bin', 24 * MiB);
      let cut = false;
      const result = await uploadFile(new StratusApi(proxy.url, api.token), file, {
        noInstant: true,
        parallel: 2,
        chunkSize: 4 * MiB,
        onProgress: (sent) => {
          if (sent > 0 && !cut) {
            cut = true;
            proxy.cut();
            setTimeout(() => proxy.restore(), 500);
          }
        },
      });
      expect(cut).toBe(true);
      expect(result.session.status).toBe('COMPLETED');
      expect(result.session.file?.size).toBe(24 * MiB);
    } finally {
      await proxy.close();
    }
  }, 60_000);
});
