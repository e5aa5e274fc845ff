/**
 * Big proxied downloads spliced from RGW's socket into the client's (api/http/splice-body.ts over
 * native/splice), on the real stack: the bytes of whole and ranged downloads, counted in
 * stratus_download_spliced_bytes_total; the client's kept-alive connection carrying more requests
 * after a spliced body; RGW breaking off mid-splice (through a TCP proxy that cuts the answer),
 * after which the rest comes from a new ranged read; a client leaving mid-splice, after which the
 * store's connection is closed; and DOWNLOAD_SPLICE=off, which streams as before.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cephBackend, startTestApp, uploadSmall, type TestApp } from '../support/app.ts';
import { testEnv } from '../support/env.ts';

const MiB = 1024 * 1024;
const body = Buffer.from(Array.from({ length: 24 * MiB + 7 }, (_, i) => (i * 13 + (i >> 12)) & 0xff));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** One series of /metrics (0 when absent). */
async function metric(t: TestApp, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

interface Got {
  status: number;
  bytes: Buffer;
  port: number;
}

function get(url: string, headers: Record<string, string>, agent?: http.Agent): Promise<Got> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, ...(agent ? { agent } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        const port = res.socket.localPort ?? 0;
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes: Buffer.concat(chunks), port }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function appWithFile(options: Parameters<typeof startTestApp>[0] = {}) {
  const t = await startTestApp(options);
  const { token } = await t.signUp();
  const id = (await uploadSmall(t.url, token, 'big.bin', body)).data!.uploadFile.id;
  return { t, token, url: `${t.url}/files/${id}/content`, auth: { authorization: `Bearer ${token}` } };
}

describe('spliced proxied downloads', () => {
  let s: Awaited<ReturnType<typeof appWithFile>>;
  beforeAll(async () => {
    s = await appWithFile();
  }, 120_000);
  afterAll(() => s?.t.close());

  it('sends whole and ranged bodies byte for byte, moved inside the kernel (stratus_download_spliced_bytes_total)', async () => {
    const before = await metric(s.t, 'stratus_download_spliced_bytes_total');
    const whole = await get(s.url, s.auth);
    expect(whole.status).toBe(200);
    expect(sha(whole.bytes)).toBe(sha(body));
    const [start, end] = [MiB + 3, 20 * MiB];
    const range = await get(s.url, { ...s.auth, range: `bytes=${start}-${end}` });
    expect(range.status).toBe(206);
    expect(sha(range.bytes)).toBe(sha(body.subarray(start, end + 1)));
    const spliced = (await metric(s.t, 'stratus_download_spliced_bytes_total')) - before;
    // All but what came with each response head from RGW (at most one 1 MiB read each).
    const total = body.length + (end - start + 1);
    expect(spliced).toBeGreaterThan(total - 2 * MiB);
    expect(spliced).toBeLessThanOrEqual(total);
  });

  it('leaves the client\'s connection usable: two spliced bodies and a GraphQL request on one kept-alive connection', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(s.url, s.auth, agent);
      const second = await get(s.url, { ...s.auth, range: 'bytes=9000000-' }, agent);
      const me = await new Promise<{ port: number; text: string }>((resolve, reject) => {
        const req = http.request(`${s.t.url}/graphql`, { method: 'POST', agent, headers: { ...s.auth, 'content-type': 'application/json' } }, (res) => {
          let text = '';
          const port = res.socket.localPort ?? 0;
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ port, text }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ query: '{ me { id } }' }));
      });
      expect(sha(first.bytes)).toBe(sha(body));
      expect(sha(second.bytes)).toBe(sha(body.subarray(9_000_000)));
      expect(JSON.parse(me.text).data.me.id).toEqual(expect.any(String));
      expect(new Set([first.port, second.port, me.port]).size).toBe(1);
    } finally {
      agent.destroy();
    }
  });
});

/**
 * A TCP proxy in front of RGW. `cutNextGetAfter(n)`: the next GET of an object is cut (both sides)
 * once n bytes of its answer went back. `objectGets` holds the live connections that GET an object.
 */
async function rgwProxy() {
  const rgw = new URL(testEnv.s3.endpoint);
  let cutAfter: number | null = null;
  const gets: string[] = [];
  const live = new Set<net.Socket>();
  /** Connections that GET an object (the SDK's kept-alive ones for other calls are not). */
  const objectGets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(rgw.port || 80), rgw.hostname);
    live.add(client);
    client.on('close', () => live.delete(client));
    for (const s of [client, upstream]) s.on('error', () => {});
    let limit: number | null = null;
    client.once('data', (first: Buffer) => {
      const head = first.toString('latin1');
      if (head.startsWith('GET ') && !head.startsWith('GET /?') && head.includes(`/${testEnv.s3.bucket}/`)) {
        objectGets.add(client);
        client.on('close', () => objectGets.delete(client));
        gets.push(/\r\nrange: ([^\r]*)/i.exec(head)?.[1] ?? 'whole');
        limit = cutAfter;
        cutAfter = null;
      }
    });
    client.pipe(upstream);
    let sent = 0;
    upstream.on('data', (chunk: Buffer) => {
      if (limit !== null && sent + chunk.length >= limit) {
        client.write(chunk.subarray(0, limit - sent), () => {
          client.destroy();
          upstream.destroy();
        });
        sent = limit;
        return;
      }
      sent += chunk.length;
      if (!client.write(chunk)) {
        upstream.pause();
        client.once('drain', () => upstream.resume());
      }
    });
    upstream.on('end', () => client.end());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    gets,
    live,
    objectGets,
    cutNextGetAfter: (n: number) => (cutAfter = n),
    close: () => {
      for (const s of live) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('spliced proxied downloads when one side fails', () => {
  let proxy: Awaited<ReturnType<typeof rgwProxy>>;
  let s: Awaited<ReturnType<typeof appWithFile>>;
  beforeAll(async () => {
    proxy = await rgwProxy();
    s = await appWithFile({ routing: () => ({ default: 'ceph', backends: [{ ...cephBackend(), endpoint: proxy.endpoint }] }) });
  }, 120_000);
  afterAll(async () => {
    await s?.t.close();
    await proxy?.close();
  });

  it('RGW breaking off mid-splice: the rest comes from a new ranged read, and the client gets every byte', async () => {
    const before = await metric(s.t, 'stratus_download_spliced_bytes_total');
    proxy.gets.length = 0;
    proxy.cutNextGetAfter(7 * MiB);
    const got = await get(s.url, s.auth);
    expect(got.status).toBe(200);
    expect(sha(got.bytes)).toBe(sha(body));
    // The first read, then one that starts where the client's bytes stopped.
    expect(proxy.gets).toHaveLength(2);
    expect(proxy.gets[0]).toBe('whole');
    const from = Number(/^bytes=(\d+)-/.exec(proxy.gets[1] ?? '')?.[1]);
    expect(from).toBeGreaterThan(5 * MiB);
    expect(from).toBeLessThan(7 * MiB);
    expect((await metric(s.t, 'stratus_download_spliced_bytes_total')) - before).toBeGreaterThan(5 * MiB);
  });

  it('a client leaving mid-splice: counted aborted, the connection to RGW closed, the next download whole', async () => {
    const aborted = await metric(s.t, 'stratus_downloads_total', '{mode="proxy",outcome="aborted"}');
    await new Promise<void>((resolve) => {
      const req = http.get(s.url, { headers: s.auth }, (res) => {
        let got = 0;
        res.on('data', (c: Buffer) => {
          got += c.length;
          if (got >= 3 * MiB) req.destroy();
        });
        res.on('error', () => {});
        res.on('close', () => resolve());
      });
      req.on('error', () => resolve());
    });
    // The store's connection goes as soon as the server sees the client gone.
    for (let i = 0; i < 50 && proxy.objectGets.size > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(proxy.objectGets.size).toBe(0);
    for (let i = 0; i < 50; i++) {
      if ((await metric(s.t, 'stratus_downloads_total', '{mode="proxy",outcome="aborted"}')) > aborted) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await metric(s.t, 'stratus_downloads_total', '{mode="proxy",outcome="aborted"}')).toBe(aborted + 1);
    expect(sha((await get(s.url, s.auth)).bytes)).toBe(sha(body));
  });
});

describe('DOWNLOAD_SPLICE=off', () => {
  it('streams through the process: the same bytes, none spliced', async () => {
    const s = await appWithFile({ env: { DOWNLOAD_SPLICE: 'off' } });
    try {
      const got = await get(s.url, s.auth);
      expect(sha(got.bytes)).toBe(sha(body));
      expect(await metric(s.t, 'stratus_download_spliced_bytes_total')).toBe(0);
      expect(await metric(s.t, 'stratus_download_bytes_total', '{mode="proxy"}')).toBe(body.length);
    } finally {
      await s.t.close();
    }
  }, 120_000);
});
