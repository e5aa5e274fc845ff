/**
 * `pipeline(body, res)` for a download's bytes, with one addition: each chunk is handed to
 * `release` once `res` has written it (its write callback: the bytes are in the kernel, or the
 * write failed and never will be). The S3 driver reads a proxied object into pooled buffers
 * (internal/storage/support/buffer-pool.ts); this is what gives them back, and pipeline cannot,
 * since `Readable.pipe` writes without a callback.
 *
 * What pipeline does, kept: the response ends after the last chunk and the promise settles when
 * it has finished; the backend's failure destroys the response (the client sees a cut transfer,
 * never a short one that looks whole); a client that goes away destroys the body at once (the
 * upstream connection closes instead of reading on to a socket nobody reads).
 */
import type { Readable, Writable } from 'node:stream';

export class ClientGone extends Error {
  override readonly name = 'ClientGone';
}

/**
 * Chunks are taken through 'data' events, one by one as they were pushed (an async iterator's
 * `read()` would merge queued chunks into a new Buffer: a copy, and the pooled ones lost).
 */
export function sendBody(body: Readable, res: Writable, release: (chunk: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      for (const [emitter, event, listener] of listeners) emitter.off(event, listener);
      if (!error) return resolve();
      body.destroy();
      res.destroy();
      reject(error);
    };
    const listeners: [Readable | Writable, string, Parameters<Readable['on']>[1]][] = [
      [body, 'data', (chunk: Buffer) => {
        if (!res.write(chunk, () => release(chunk))) body.pause();
      }],
      [body, 'end', () => res.end()],
      [body, 'error', settle],
      [body, 'close', () => {
        if (!body.readableEnded) settle(body.errored ?? new Error('the body closed before its end'));
      }],
      [res, 'drain', () => body.resume()],
      [res, 'finish', () => settle()],
      [res, 'error', settle],
      // The client may leave while the backend is slow to send: the body is destroyed at once, so
      // the upstream connection closes instead of reading on.
      [res, 'close', () => {
        if (!res.writableFinished) settle(new ClientGone('the client went away during the download'));
      }],
    ];
    for (const [emitter, event, listener] of listeners) emitter.on(event, listener);
    if (res.destroyed) settle(new ClientGone('the client went away before the download started'));
  });
}
