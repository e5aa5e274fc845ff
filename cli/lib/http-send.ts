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
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';

const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) };
const READ_BYTES = 1024 * 1024;

export interface HttpAnswer {
  status: number;
  body: Buffer;
}

/** A piece of a body: bytes in hand, or bytes [start, start + bytes) of a file, read as they are sent. */
export type BodyPart = Buffer | { file: string; start: number; bytes: number };

/** Bytes [start, start + length) of `file`. */
export function fileRange(file: string, start: number, length: number): BodyPart {
  return { file, start, bytes: length };
}

/**
 * Read buffers, reused from request to request. Why: a file stream allocates a fresh buffer for
 * every read, memory outside the V8 heap that only a garbage collection frees, and external
 * memory growing by 1 MiB per read makes V8 collect the whole heap again and again: measured here
 * (bench/profile/small-probe.ts, 16 MiB files in one request, 4 in flight) the CLI spent 52 CPU
 * ms per file, 46 % of it in the garbage collector. A buffer goes back only once the socket has
 * taken its bytes (the write's callback); one whose write did not complete is left to the GC.
 */
const spare: Buffer[] = [];
const SPARE_MAX = 16;
const takeBuffer = (): Buffer => spare.pop() ?? Buffer.allocUnsafe(READ_BYTES);
const giveBack = (buffer: Buffer): void => {
  if (spare.length < SPARE_MAX) spare.push(buffer);
};

/**
 * One request whose body is `parts` in order (Buffers and file ranges), `length` bytes in all
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
    req.on('error', reject);
    void writeParts(req, parts).catch((error: unknown) => req.destroy(error instanceof Error ? error : new Error(String(error))));
  });
}

/**
 * Writes the parts one after the other, then ends the request. A file range is read into two
 * buffers in turn: one is read while the other's bytes go out, and a buffer is read into again
 * only when its write has completed, so at most 2 MiB per request wait in this process (the
 * back-pressure). A file that is shorter than its part (changed since it was measured) fails the
 * request: with a Content-Length the server would otherwise wait for the missing bytes.
 */
async function writeParts(req: http.ClientRequest, parts: BodyPart[]): Promise<void> {
  for (const part of parts) {
    if (req.destroyed) return;
    if (Buffer.isBuffer(part)) {
      // Small bytes in hand (a multipart head or tail): queued, never reused, nothing to wait for.
      req.write(part);
      continue;
    }
    if (part.bytes === 0) continue;
    const handle = await open(part.file, 'r');
    try {
      if (!(await writeRange(req, handle, part))) return;
    } finally {
      await handle.close();
    }
  }
  req.end();
}

/** Bytes of one file range, double-buffered; false when the request ended first. */
async function writeRange(req: http.ClientRequest, handle: FileHandle, part: { start: number; bytes: number }): Promise<boolean> {
  const turns: { buffer: Buffer; write: Promise<boolean> | null }[] = [
    { buffer: takeBuffer(), write: null },
    { buffer: takeBuffer(), write: null },
  ];
  let sent = 0;
  let ok = true;
  try {
    for (let i = 0; sent < part.bytes; i++) {
      const turn = turns[i % 2] as (typeof turns)[number];
      if (turn.write && !(await turn.write)) return (ok = false);
      turn.write = null;
      const want = Math.min(turn.buffer.length, part.bytes - sent);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await handle.read(turn.buffer, got, want - got, part.start + sent + got);
        if (bytesRead === 0) throw new Error(`the file changed while it was sent: ${sent + got} of ${part.bytes} bytes read`);
        got += bytesRead;
      }
      if (req.destroyed) return (ok = false);
      turn.write = written(req, turn.buffer.subarray(0, got));
      sent += got;
    }
    for (const turn of turns) if (turn.write && !(await turn.write)) ok = false;
    return ok;
  } catch (error) {
    // Failed (the file changed): the caller destroys the request at once, nothing is awaited here.
    ok = false;
    throw error;
  } finally {
    // Every write has completed when ok holds; a buffer whose write is pending or failed may yet
    // be read by the socket, and is never reused.
    if (ok) for (const turn of turns) giveBack(turn.buffer);
  }
}

/** Writes `chunk`; true once the socket has taken it, false when the request failed or closed first. */
function written(req: http.ClientRequest, chunk: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const closed = () => resolve(false);
    req.once('close', closed);
    req.write(chunk, (error) => {
      req.off('close', closed);
      resolve(!error);
    });
  });
}

/**
 * A multipart/form-data body (RFC 7578) of text fields and files (a part each), as undici's FormData writes
 * it, so the server parses exactly what it parsed before: `name="…"` and `filename="…"` with `"`,
 * CR and LF percent-encoded (the HTML form-submission rule) and the rest as UTF-8, each part ended
 * by CRLF, the body by the closing delimiter.
 */
export function multipartBody(fields: [string, string][], files: MultipartFile | MultipartFile[]): { contentType: string; parts: BodyPart[]; length: number } {
  const boundary = `----stratus-${randomBytes(16).toString('hex')}`;
  const escape = (s: string) => s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
  const lines = (s: string) => s.replace(/\r?\n|\r/g, '\r\n');
  let text = '';
  for (const [name, value] of fields) text += `--${boundary}\r\nContent-Disposition: form-data; name="${escape(lines(name))}"\r\n\r\n${lines(value)}\r\n`;
  const parts: BodyPart[] = [];
  let length = 0;
  const push = (part: BodyPart, bytes: number) => {
    parts.push(part);
    length += bytes;
  };
  for (const file of Array.isArray(files) ? files : [files]) {
    text += `--${boundary}\r\nContent-Disposition: form-data; name="${escape(lines(file.field))}"; filename="${escape(file.name)}"\r\nContent-Type: ${file.type}\r\n\r\n`;
    const head = Buffer.from(text, 'utf8');
    push(head, head.length);
    push(fileRange(file.path, 0, file.size), file.size);
    text = '\r\n';
  }
  const tail = Buffer.from(`${text}--${boundary}--\r\n`, 'utf8');
  push(tail, tail.length);
  return { contentType: `multipart/form-data; boundary=${boundary}`, parts, length };
}

/** One file part of a multipart body: its field name, filename, Content-Type, and the local file. */
export interface MultipartFile {
  field: string;
  name: string;
  type: string;
  path: string;
  size: number;
}
