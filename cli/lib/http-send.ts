/**
 * The CLI's byte-carrying requests (a chunk PUT, a one-request upload) over node:http or
 * node:https by the server URL's scheme, with kept-alive sockets and the file streamed from disk
 * in 1 MiB reads.
 *
 * Why not fetch: undici's fetch sends a FormData file part through WHATWG streams in 64 KiB pieces;
 * measured here (bench/profile/small-probe.ts, 4 MiB files, 4 in flight) the CLI then spent 66 CPU
 * ms per file, more than the server receiving it (53); the same bytes piped from a file stream cost
 * a fraction of that. On one machine (the bench, a person's laptop running several uploads) that
 * CPU is taken from everything else.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';

const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };
const READ_BYTES = 1024 * 1024;

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** A piece of a body: bytes in hand, or `bytes` bytes read from a file. */
export type BodyPart = Buffer | { stream: Readable; bytes: number };

/** Bytes [start, start + length) of `file`, read 1 MiB at a time. */
export function fileRange(file: string, start: number, length: number): BodyPart {
  return { stream: length === 0 ? Readable.from([]) : createReadStream(file, { start, end: start + length - 1, highWaterMark: READ_BYTES }), bytes: length };
}

/**
 * One request whose body is `parts` in order (Buffers and file streams), `length` bytes in all
 * (sent as Content-Length); resolves with the whole answer (small: JSON or an error document).
 */
export function send(url: URL, method: string, headers: Record<string, string>, parts: BodyPart[], length: number, signal?: AbortSignal): Promise<HttpAnswer> {
  const transport = url.protocol === 'https:' ? https : url.protocol === 'http:' ? http : null;
  if (!transport) return Promise.reject(new Error(`unsupported server URL scheme ${url.protocol}`));
  const agent = agents[url.protocol as 'http:' | 'https:'];
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = transport.request(url, { method, headers: { ...headers, 'content-length': String(length) }, agent, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (error) => {
      for (const part of parts) if (!Buffer.isBuffer(part)) part.stream.destroy();
      reject(error);
    });
    void writeParts(req, parts).catch((error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))));
  });
}

/**
 * Writes the parts one after the other with back-pressure, then ends the request. A file that is
 * shorter than its part (changed since it was measured) fails the request: with a Content-Length
 * the server would otherwise wait for the missing bytes.
 */
async function writeParts(req: http.ClientRequest, parts: BodyPart[]): Promise<void> {
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      if (!req.write(part)) await drained(req);
      continue;
    }
    let sent = 0;
    for await (const chunk of part.stream) {
      if (req.destroyed) return;
      sent += (chunk as Buffer).length;
      if (!req.write(chunk as Buffer)) await drained(req);
    }
    if (sent !== part.bytes) throw new Error(`the file changed while it was sent: ${sent} of ${part.bytes} bytes read`);
  }
  req.end();
}

function drained(req: http.ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.once('drain', done);
    req.once('close', done);
  });
}

/**
 * A multipart/form-data body (RFC 7578) of text fields and one file, as undici's FormData writes
 * it, so the server parses exactly what it parsed before: `name="…"` and `filename="…"` with `"`,
 * CR and LF percent-encoded (the HTML form-submission rule) and the rest as UTF-8, each part ended
 * by CRLF, the body by the closing delimiter.
 */
export function multipartBody(fields: [string, string][], file: { field: string; name: string; type: string; path: string; size: number }): { contentType: string; parts: BodyPart[]; length: number } {
  const boundary = `----stratus-${randomBytes(16).toString('hex')}`;
  const escape = (s: string) => s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
  const lines = (s: string) => s.replace(/\r?\n|\r/g, '\r\n');
  let head = '';
  for (const [name, value] of fields) head += `--${boundary}\r\nContent-Disposition: form-data; name="${escape(lines(name))}"\r\n\r\n${lines(value)}\r\n`;
  head += `--${boundary}\r\nContent-Disposition: form-data; name="${escape(lines(file.field))}"; filename="${escape(file.name)}"\r\nContent-Type: ${file.type}\r\n\r\n`;
  const before = Buffer.from(head, 'utf8');
  const after = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    parts: [before, fileRange(file.path, 0, file.size), after],
    length: before.length + file.size + after.length,
  };
}
