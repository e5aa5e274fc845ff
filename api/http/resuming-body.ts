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

export function resumingBody(first: Reopened, length: number, reopen: (offset: number) => Promise<Reopened>, attempts = 2): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    let current = first.body;
    let sent = 0;
    let left = attempts;
    for (;;) {
      try {
        for await (const chunk of current as AsyncIterable<Buffer>) {
          sent += chunk.length;
          yield chunk;
        }
        if (sent >= length) return;
        throw new Error(`the backend's body ended after ${sent} of ${length} bytes`);
      } catch (error) {
        if (left === 0 || sent >= length) throw error;
        left--;
        current.destroy();
        const next = await reopen(sent);
        if (next.etag !== first.etag) {
          next.body.destroy();
          throw new Error(`the object changed while it was being read (ETag ${first.etag} → ${next.etag})`, { cause: error });
        }
        current = next.body;
      }
    }
  }
  return Readable.from(bytes(), { objectMode: false });
}
