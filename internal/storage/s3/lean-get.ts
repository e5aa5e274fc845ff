/**
 * A GET of one object over a plain TCP socket that reads up to `readBufferBytes` (1 MiB) per
 * read, for big downloads the server proxies. Why: node:http's parser hands a response body over
 * in pieces of at most 64 KiB (its read buffer), so a proxied GiB is ~16 000 reads, parser
 * callbacks, stream pushes and socket writes; measured here (bench/download.bench.ts) a bare
 * `pipeline(GetObject body, res)` costs 2–5 CPU s/GiB, the same pipe fed by 1 MiB reads 0.7–0.9.
 * The socket's `onread` buffer (net.connect) lets the kernel fill 1 MiB at a time.
 *
 * Deliberately narrow — the caller (the S3 driver) signs the URL and falls back to the SDK for
 * anything but a plain answer:
 * - plain `http:` only (the caller never passes https);
 * - one request per connection (`Connection: close`: RFC 9112 §9.6, the server closes after the
 *   response, so the TIME_WAIT stays on its side), no redirects, no retries;
 * - the body is delimited by Content-Length only; an answer with Transfer-Encoding or without a
 *   Content-Length is returned with `length: null` and must not be read (the caller destroys it).
 * Bytes are copied out of the reused read buffer into exactly-sized Buffers before they are
 * pushed, or, with a `pool`, read into pooled buffers that are pushed as they are; when the
 * consumer stops reading (push returns false), the socket stops reading too, so memory stays
 * bounded by the body's highWaterMark plus one read.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import type { TakenConnection } from '../object-store.ts';
import type { BufferPool } from '../support/buffer-pool.ts';

export interface LeanGetOptions {
  /** Largest single socket read (default 1 MiB). */
  readBufferBytes?: number;
  /** No TCP connection within this: the GET fails. */
  connectTimeoutMs: number;
  /** No byte for this long once connected: the GET (or its body) fails. */
  idleTimeoutMs: number;
  /** What the body is destroyed with when the connection fails once it is under way. */
  bodyError?: (error: Error) => Error;
  /**
   * Read the socket into buffers of this pool and push views of them, uncopied: the consumer gives
   * each chunk back (`pool.give`) once its bytes have left the process. A chunk never given back
   * is only never reused. Without a pool, every read is copied into a fresh Buffer.
   */
  pool?: BufferPool;
}

export interface LeanAnswer {
  status: number;
  /** Lower-cased names; a repeated header keeps its last value. */
  headers: Record<string, string>;
  /** The body's length from Content-Length; null when the body is not delimited by it. */
  length: number | null;
  /** Destroying it closes the connection (an abort releases the upstream socket at once). */
  body: Readable;
  /**
   * The connection itself, for a caller that moves the body's bytes on without reading them here
   * (internal/platform/splice.ts): the body bytes that came with the head (`prefix`) and the socket
   * the other `left` come on, no longer read, with no timeout and no listener of ours. Null once
   * the body has been read from, or for a body not delimited by Content-Length. After a take the
   * caller owns the socket (and destroys it); `body` is only to be let go of.
   */
  take(): TakenConnection | null;
}

export class LeanGetError extends Error {
  override readonly name = 'LeanGetError';
}

const MAX_HEAD_BYTES = 64 * 1024;

/** status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4). */
function parseHead(text: string): Omit<LeanAnswer, 'body' | 'take'> | null {
  const lines = text.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!status?.[1]) return null;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const declared = headers['content-length'];
  // "If a message is received with both a Transfer-Encoding and a Content-Length header field, the
  // Transfer-Encoding overrides the Content-Length" (RFC 9112 §6.3): not ours to read then.
  const length = headers['transfer-encoding'] === undefined && declared !== undefined && /^\d+$/.test(declared) ? Number(declared) : null;
  return { status: Number(status[1]), headers, length };
}

/**
 * The head read so far, and what came after it: the parsed head and the body bytes that came
 * with it; the bytes again when the head has not ended yet; or why the answer is refused.
 */
type SplitHead = { kind: 'more'; bytes: Buffer } | { kind: 'bad'; error: LeanGetError } | { kind: 'head'; parsed: Omit<LeanAnswer, 'body' | 'take'>; tail: Buffer };

function splitHead(all: Buffer): SplitHead {
  const end = all.indexOf('\r\n\r\n');
  if (end < 0) return all.length > MAX_HEAD_BYTES ? { kind: 'bad', error: new LeanGetError('response head too large') } : { kind: 'more', bytes: all };
  const parsed = parseHead(all.subarray(0, end).toString('latin1'));
  if (!parsed) return { kind: 'bad', error: new LeanGetError('malformed response head') };
  // `all` is a fresh Buffer (concat): its tail is kept, and pushed, without another copy.
  const tail = all.subarray(end + 4);
  // Refused before the body exists: an error emitted before the caller holds the body would have
  // no listener.
  if (parsed.length !== null && tail.length > parsed.length) {
    return { kind: 'bad', error: new LeanGetError(`the server sent more than the ${parsed.length} bytes of its Content-Length`) };
  }
  return { kind: 'head', parsed, tail };
}

function requestHead(url: URL, headers: Record<string, string>): string {
  const lines = Object.entries({ host: url.host, ...headers, connection: 'close' }).map(([k, v]) => `${k}: ${v}\r\n`);
  return `GET ${url.pathname}${url.search} HTTP/1.1\r\n${lines.join('')}\r\n`;
}

interface ReadMemory {
  /** bytes of one read */
  size: number;
  /** onread's buffer: one reused buffer, or a function Node asks for each next read's buffer. */
  buffer: Buffer | (() => Buffer);
  /** What goes on of a read of `n` bytes into `buf`. */
  chunk(buf: Uint8Array, n: number): Buffer;
  /** A read whose bytes were copied elsewhere (the head): its buffer is free again. */
  drop(buf: Uint8Array): void;
  /** The socket closed: the buffer of the read that never came is free again. */
  close(): void;
}

function readMemory(pool: BufferPool | undefined, bytes: number): ReadMemory {
  const view = (buf: Uint8Array, n: number) => Buffer.from(buf.buffer, buf.byteOffset, n);
  if (!pool) {
    // The one read buffer is reused by the next read: what goes on is a copy of exactly `n` bytes.
    return { size: bytes, buffer: Buffer.allocUnsafe(bytes), chunk: (buf, n) => Buffer.from(view(buf, n)), drop: () => {}, close: () => {} };
  }
  let reading: Buffer | null = null;
  return {
    size: pool.size,
    // Node asks for the buffer of each next read once the read callback has returned.
    buffer: () => (reading = pool.take()),
    chunk: (buf, n) => {
      // A pooled buffer is not read into again until the consumer gives it back; but a short read
      // is copied and its buffer given back at once, or a body's highWaterMark of small reads
      // would pin a whole pooled buffer each.
      if (n >= pool.size / 4) return view(buf, n);
      const copy = Buffer.from(view(buf, n));
      pool.give(buf);
      return copy;
    },
    drop: (buf) => pool.give(buf),
    close: () => {
      if (reading) pool.give(reading);
      reading = null;
    },
  };
}

/**
 * The body's stream, and the way to take its connection instead (LeanAnswer.take): whichever comes
 * first. Nothing is read from the socket until the body is first read (the bytes that came with
 * the head go first). Reading resumes the socket; destroying the body closes the connection,
 * unless it was taken.
 */
function bodyOrSocket(
  socket: net.Socket,
  memory: ReadMemory,
  tail: Buffer,
  o: { deliver: (chunk: Buffer) => boolean; left: () => number; detach: () => void; idleTimeoutMs: number; takeable: boolean },
): { body: Readable; take: () => TakenConnection | null } {
  let pending: Buffer | null = tail;
  let taken = false;
  const body = new Readable({
    highWaterMark: memory.size,
    read: () => {
      const kept = pending;
      pending = null;
      if (kept === null || o.deliver(kept)) socket.resume();
    },
    destroy: (error, callback) => {
      if (!taken) socket.destroy();
      callback(error);
    },
  });
  const take = (): TakenConnection | null => {
    if (!o.takeable || pending === null || taken || body.destroyed) return null;
    taken = true;
    const prefix = pending;
    pending = null;
    o.detach();
    memory.close();
    body.destroy();
    return { socket, prefix, left: o.left() - prefix.length, idleTimeoutMs: o.idleTimeoutMs };
  };
  return { body, take };
}

export function leanGet(url: URL, headers: Record<string, string>, options: LeanGetOptions): Promise<LeanAnswer> {
  if (url.protocol !== 'http:') return Promise.reject(new LeanGetError(`leanGet speaks plain http only, not ${url.protocol}`));
  const memory = readMemory(options.pool, options.readBufferBytes ?? 1024 * 1024);
  return new Promise((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    let left = 0;
    let body: Readable | undefined;
    const fail = (error: Error) => {
      clearTimeout(connectTimer);
      socket.destroy();
      if (!body) reject(error);
      else if (!body.destroyed) body.destroy(options.bodyError ? options.bodyError(error) : error);
    };
    /** Hands one chunk to the body; false pauses the socket until the consumer reads again. */
    const deliver = (chunk: Buffer): boolean => {
      if (!body || chunk.length === 0) return true;
      if (chunk.length > left) {
        fail(new LeanGetError(`the server sent more than the ${left} bytes left of its Content-Length`));
        return false;
      }
      left -= chunk.length;
      const more = body.push(chunk);
      if (left === 0) body.push(null);
      return more;
    };
    const onHead = (chunk: Buffer): boolean => {
      const split = splitHead(Buffer.concat([head ?? Buffer.alloc(0), chunk]));
      if (split.kind === 'more') {
        head = split.bytes;
        return true;
      }
      head = null;
      if (split.kind === 'bad') {
        fail(split.error);
        return false;
      }
      const { parsed, tail } = split;
      left = parsed.length ?? 0;
      const detach = () => {
        socket.removeListener('timeout', onTimeout).removeListener('error', fail).removeListener('close', onClose);
        socket.setTimeout(0);
      };
      const opened = bodyOrSocket(socket, memory, tail, { deliver, left: () => left, detach, idleTimeoutMs: options.idleTimeoutMs, takeable: parsed.length !== null });
      body = opened.body;
      const take = opened.take;
      resolve({ ...parsed, body, take });
      if (parsed.length === 0) body.push(null);
      // Reading stops here until the body is read (or the connection taken).
      return false;
    };
    const socket = net.connect({
      host: url.hostname,
      port: Number(url.port || 80),
      onread: {
        buffer: memory.buffer,
        callback: (n: number, buf: Uint8Array) => {
          if (head === null) return deliver(memory.chunk(buf, n));
          const more = onHead(Buffer.from(buf.buffer, buf.byteOffset, n)); // copies what it keeps (concat)
          memory.drop(buf);
          return more;
        },
      },
    });
    const connectTimer = setTimeout(() => fail(new LeanGetError(`no connection within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      socket.setTimeout(options.idleTimeoutMs);
      socket.write(requestHead(url, headers));
    });
    const onTimeout = () => fail(new LeanGetError(`no byte for ${options.idleTimeoutMs} ms`));
    const onClose = () => {
      memory.close();
      if (head !== null) fail(new LeanGetError('connection closed before the response head'));
      else if (left > 0 && body && !body.destroyed) fail(new LeanGetError(`connection closed with ${left} bytes of the body missing`));
    };
    socket.on('timeout', onTimeout);
    socket.on('error', fail);
    socket.on('close', onClose);
    // Flowing, so that the server's FIN is seen ('end', then 'close'); the bytes themselves only
    // ever arrive through `onread`.
    socket.resume();
  });
}
