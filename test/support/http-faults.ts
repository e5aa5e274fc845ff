/**
 * A TCP proxy in front of the server that spoils chosen connections the way networks and gateways
 * do, for the retry tests of the CLI's one-request uploads. Connections are numbered as they come;
 * `plan` says what happens to the n-th (the rest pass untouched):
 * - 'drop-mid-body': the request's first `afterBytes` go through, then both sides are cut (the
 *   server never gets the whole body, so it stores nothing);
 * - 'lose-answer': the whole request goes through, and the connection is cut when the server's
 *   answer begins (the server has finished: the client never learns it);
 * - 'refuse-503': the request is read whole and answered with a 503 carrying a GraphQL
 *   UNAVAILABLE error, without reaching the server.
 */
import net from 'node:net';

export type Fault = { kind: 'drop-mid-body'; afterBytes: number } | { kind: 'lose-answer' } | { kind: 'refuse-503' } | { kind: 'pass' };

export interface FaultProxy {
  url: string;
  /** The first line of each connection's first request, in order ("POST /graphql HTTP/1.1"). */
  requests: string[];
  close(): Promise<void>;
}

/** Bytes of an HTTP/1.1 request seen so far: enough to know when its Content-Length body has arrived. */
function requestComplete(seen: Buffer): boolean {
  const end = seen.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(seen.subarray(0, end).toString('latin1'))?.[1];
  return seen.length >= end + 4 + Number(length ?? 0);
}

export async function startFaultProxy(target: { host: string; port: number }, plan: Fault[]): Promise<FaultProxy> {
  const sockets = new Set<net.Socket>();
  const requests: string[] = [];
  let next = 0;
  const server = net.createServer((client) => {
    const fault = plan[next++] ?? { kind: 'pass' };
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let seen = Buffer.alloc(0);
    client.once('data', (first: Buffer) => requests.push(first.toString('latin1').split('\r\n')[0] ?? ''));
    if (fault.kind === 'refuse-503') {
      client.on('data', (chunk: Buffer) => {
        seen = Buffer.concat([seen, chunk]);
        if (!requestComplete(seen)) return;
        const body = JSON.stringify({ errors: [{ message: 'Service unavailable for a moment', extensions: { code: 'UNAVAILABLE' } }] });
        client.end(`HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
      });
      return;
    }
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => undefined);
    let forwarded = 0;
    client.on('data', (chunk: Buffer) => {
      if (fault.kind === 'drop-mid-body' && forwarded + chunk.length > fault.afterBytes) {
        upstream.write(chunk.subarray(0, Math.max(0, fault.afterBytes - forwarded)));
        client.destroy();
        upstream.destroy();
        return;
      }
      forwarded += chunk.length;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (fault.kind === 'lose-answer') {
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
