/**
 * A download's body that survives a backend breaking off mid-read: the bytes already sent stay
 * sent, and the rest is asked for again from where the body stopped (a ranged GET of the same
 * object, whose ETag must not have changed: blobs are immutable, so it never should). A Ceph OSD
 * going down or coming back makes RGW cut a read it was serving; without this, the client's
 * download died although every byte was still there. At most `attempts` re-reads per body; then
 * the error goes on (the response is cut, as before, and the client resumes with Range).
 */
import { Readable } from 'node:stream';

export interface Reopened {
  body: Readable;
  etag: string;
}

/**
 * The backend's chunks go on as they came, through 'data' events: neither merged nor copied. (An
 * async iterator's `read()` merges whatever is queued into one new Buffer: a copy per chunk on a
 * busy proxy, and the S3 driver's pooled buffers, which go back by identity, would be lost.)
 */
export function resumingBody(first: Reopened, length: number, reopen: (offset: number) => Promise<Reopened>, attempts = 2): Readable {
  let current = first.body;
  let sent = 0;
  let left = attempts;
  const out = new Readable({
    // One backend chunk queued at most before the backend is paused (its own buffer holds more).
    highWaterMark: 1,
    read: () => {
      current.resume();
    },
    destroy: (error, callback) => {
      current.destroy();
      callback(error);
    },
  });
  const follow = (body: Readable) => {
    current = body;
    const isCurrent = () => current === body && !out.destroyed;
    body.on('data', (chunk: Buffer) => {
      if (!isCurrent()) return;
      sent += chunk.length;
      if (!out.push(chunk)) body.pause();
    });
    body.once('end', () => {
      if (!isCurrent()) return;
      if (sent >= length) out.push(null);
      else void resume(new Error(`the backend's body ended after ${sent} of ${length} bytes`));
    });
    body.once('error', (error: Error) => {
      if (isCurrent()) void resume(error);
    });
    body.once('close', () => {
      // Closed with neither an end nor an error (destroyed without a reason): broken off too.
      if (isCurrent() && !body.readableEnded && !body.errored) void resume(new Error('the backend closed its body early'));
    });
  };
  const resume = async (error: Error) => {
    current.destroy();
    if (left === 0 || sent >= length) {
      out.destroy(error);
      return;
    }
    left--;
    try {
      const next = await reopen(sent);
      if (out.destroyed) {
        next.body.destroy();
        return;
      }
      if (next.etag !== first.etag) {
        next.body.destroy();
        throw new Error(`the object changed while it was being read (ETag ${first.etag} → ${next.etag})`, { cause: error });
      }
      follow(next.body);
    } catch (reopenError) {
      out.destroy(reopenError as Error);
    }
  };
  follow(first.body);
  return out;
}
