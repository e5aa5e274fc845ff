/**
 * A `fetch` for service calls built on node:http, so the DNS lookup can be replaced (tests answer
 * `*.svc.cluster.local` from a fake DNS server; the global fetch offers no such hook).
 */
import http from 'node:http';
import type { LookupFunction as NetLookup } from 'node:net';
import { Readable } from 'node:stream';

export type LookupFunction = NetLookup;

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function createNodeFetch(options: { lookup?: LookupFunction; timeoutMs?: number } = {}) {
  return async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    if (url.protocol !== 'http:') throw new Error(`unsupported protocol ${url.protocol}`);
    const headers = new Headers(init.headers);
    const body = init.body === undefined || init.body === null ? undefined : String(init.body);
    if (body !== undefined) headers.set('content-length', String(Buffer.byteLength(body)));
    return new Promise<Response>((resolve, reject) => {
      const req = http.request(
        {
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port || 80,
          path: `${url.pathname}${url.search}`,
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers.entries()),
          agent,
          lookup: options.lookup,
          timeout: options.timeoutMs ?? 30_000,
          signal: init.signal ?? undefined,
        },
        (res) => {
          const responseHeaders = new Headers();
          for (const [key, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
            else if (value !== undefined) responseHeaders.set(key, value);
          }
          const stream = Readable.toWeb(res) as ReadableStream<Uint8Array>;
          resolve(new Response(stream, { status: res.statusCode ?? 500, headers: responseHeaders }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('service call timed out')));
      req.on('error', reject);
      req.end(body);
    });
  };
}
