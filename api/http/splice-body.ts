/**
 * A download's body moved from the object store's connection into the client's inside the kernel
 * (internal/platform/splice.ts), instead of through this process (send-body.ts). The response
 * head and the body bytes that came with the store's head go out through `res` first; once the
 * socket has written them, the rest is spliced, and `res.end()` closes the response as usual (its
 * Content-Length was set by the caller, so the connection stays reusable).
 *
 * How it ends, for the caller to count and to go on:
 * - `sent`: every byte went out;
 * - `client-gone`: the client closed, stopped reading for the idle timeout, or the server closed
 *   its socket (the response is destroyed, as send-body.ts does);
 * - `source-failed`: the store broke off after `sent` bytes (or splicing could not go on): the head
 *   is out, so the caller sends the rest from there another way (a new ranged GET, streamed), as
 *   resuming-body.ts does for streams.
 */
import type { Socket } from 'node:net';
import type { Response } from 'express';
import { descriptorOf, type SpliceSlot } from '../../internal/platform/splice.ts';
import type { TakenConnection } from '../../internal/storage/index.ts';

/** `sent`: bytes of the body that went out (the prefix through `res`, the rest spliced: `spliced`). */
export type SpliceEnd = { kind: 'sent' | 'client-gone'; sent: number; spliced: number } | { kind: 'source-failed'; sent: number; spliced: number; reason: string };

/** Whether the response goes straight onto a plain TCP socket (no TLS, no HTTP/2 stream). */
export function canSplice(res: Response): boolean {
  return !res.headersSent && res.req.httpVersionMajor === 1 && descriptorOf(res.socket) !== null;
}

/**
 * Resolves once `socket` has handed the head and `prefix` to the kernel: 'written'; 'failed' when
 * the write failed or the socket closed first; 'queued' when other bytes still wait in the socket
 * (then splicing would overtake them).
 */
function writeHead(res: Response, socket: Socket, prefix: Buffer): Promise<'written' | 'failed' | 'queued'> {
  return new Promise((resolve) => {
    const closed = () => resolve('failed');
    socket.once('close', closed);
    const done = (error?: Error | null) => {
      socket.off('close', closed);
      resolve(error ? 'failed' : socket.writableLength === 0 ? 'written' : 'queued');
    };
    // Writes complete in order: the callback of the last one means the head went out too.
    if (prefix.length > 0) res.write(prefix, done);
    else {
      res.flushHeaders();
      socket.write(Buffer.alloc(0), done);
    }
  });
}

export async function spliceBody(taken: TakenConnection, res: Response, slot: SpliceSlot): Promise<SpliceEnd> {
  const upstream = taken.socket;
  // Nothing reads it any more: an error would otherwise have no listener. The outcome says it.
  upstream.on('error', () => {});
  const socket = res.socket;
  try {
    const head = socket ? await writeHead(res, socket, taken.prefix) : 'failed';
    if (!socket || head === 'failed') {
      res.destroy();
      return { kind: 'client-gone', sent: 0, spliced: 0 };
    }
    if (head === 'queued') return { kind: 'source-failed', sent: taken.prefix.length, spliced: 0, reason: 'the response socket had bytes queued' };
    const stop = new AbortController();
    const gone = () => stop.abort();
    socket.once('close', gone);
    const outcome = await slot.move(upstream, socket, taken.left, { idleTimeoutMs: taken.idleTimeoutMs, signal: stop.signal });
    socket.off('close', gone);
    const sent = taken.prefix.length + outcome.moved;
    if (outcome.ok) {
      res.end();
      return { kind: 'sent', sent, spliced: outcome.moved };
    }
    if (outcome.side === 'target' || outcome.code === 'ECANCELED') {
      // The client's failure, or its socket closed: the response cannot go on, so it is cut.
      res.destroy();
      return { kind: 'client-gone', sent, spliced: outcome.moved };
    }
    // The store's failure, or neither's (no pipe: the process is out of descriptors): nothing
    // went out of order, so the rest can still be sent another way.
    return { kind: 'source-failed', sent, spliced: outcome.moved, reason: `${outcome.code}${outcome.side ? ` from the ${outcome.side}` : ''}` };
  } finally {
    // Given back here too when no move started (the head could not be written).
    slot.release();
    upstream.destroy();
  }
}
