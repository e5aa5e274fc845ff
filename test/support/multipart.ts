/**
 * Hand-built GraphQL multipart requests (jaydenseric/graphql-multipart-request-spec) and a
 * keep-alive client on ONE socket, for the tests that send malformed bodies and then check the
 * same connection still serves the next request.
 */
import http from 'node:http';
import net from 'node:net';

export type Part =
  | { name: string; value: string }
  | { name: string; filename: string; data: Buffer | string; type?: string }
  | { raw: string };

/** The parts of a multipart/form-data body (RFC 7578), with the closing delimiter unless `close` is false. */
export function multipartBody(boundary: string, parts: Part[], close = true): Buffer {
  const out: Buffer[] = [];
  for (const part of parts) {
    if ('raw' in part) {
      out.push(Buffer.from(part.raw, 'latin1'));
      continue;
    }
    if ('value' in part) {
      out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"\r\n\r\n${part.value}\r\n`));
    } else {
      out.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\nContent-Type: ${part.type ?? 'application/octet-stream'}\r\n\r\n`));
      out.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
      out.push(Buffer.from('\r\n'));
    }
  }
  if (close) out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: { data?: unknown; errors?: { message: string; extensions?: { code?: string; details?: { reason?: string } } }[] } | undefined;
  socket: net.Socket;
}

/** A client whose every request goes over one kept-alive socket while the server lets it. */
export class OneSocketClient {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly sockets = new Set<net.Socket>();
  constructor(private readonly baseUrl: string) {}

  /**
   * POSTs `body` to `path`. With `chunked`, the body goes as the given pieces in chunked transfer
   * coding (no Content-Length), so a body can end anywhere while the connection stays open.
   */
  request(path: string, headers: Record<string, string>, body: Buffer | Buffer[] | null, method = 'POST'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const pieces = body === null ? [] : Array.isArray(body) ? body : [body];
      const chunked = Array.isArray(body);
      const req = http.request(new URL(path, this.baseUrl), {
        method,
        agent: this.agent,
        headers: { ...headers, ...(chunked ? { 'transfer-encoding': 'chunked' } : body ? { 'content-length': String(pieces[0]?.length ?? 0) } : {}) },
      });
      let socket: net.Socket | undefined;
      req.on('socket', (s) => {
        socket = s;
        this.sockets.add(s);
      });
      req.on('error', reject);
      req.on('response', (res) => {
        const data: Buffer[] = [];
        res.on('data', (d: Buffer) => data.push(d));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(data).toString();
          let json: Answer['json'];
          try {
            json = JSON.parse(text) as Answer['json'];
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, socket: socket! });
        });
      });
      for (const piece of pieces) req.write(piece);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * Sends `head` and part of a body over a new raw socket, then closes it (a client that gives up
 * mid-upload). Resolves with whatever the server answered before the close, or ''.
 */
export function sendAndHangUp(port: number, head: string, body: Buffer, waitMs = 300): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(answer));
    socket.write(head);
    socket.write(body, () => setTimeout(() => socket.destroy(), waitMs));
  });
}
