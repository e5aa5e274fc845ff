/** Sends chosen chunks of a local file to an upload session by PUT (fault tests drive this by hand). */
import { open } from 'node:fs/promises';
import http from 'node:http';

export async function putChunks(url: string, token: string, file: string, session: { id: string; chunkSize: number; size: number }, indexes: number[]): Promise<void> {
  const handle = await open(file, 'r');
  try {
    for (const index of indexes) {
      const start = index * session.chunkSize;
      const length = Math.min(session.chunkSize, session.size - start);
      const body = Buffer.alloc(length);
      await handle.read(body, 0, length, start);
      const res = await fetch(`${url}/upload/${session.id}/${index}`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body });
      if (res.status !== 200) throw new Error(`chunk ${index}: HTTP ${res.status} ${await res.text()}`);
    }
  } finally {
    await handle.close();
  }
}

/**
 * A chunk PUT that sends its first byte and then holds the rest until `finish`: the server has
 * begun the chunk (taken its lock) and waits for the body meanwhile.
 */
export function heldPut(url: string, token: string, sessionId: string, index: number, body: Buffer) {
  const req = http.request(`${url}/upload/${sessionId}/${index}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-length': String(body.length) } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
  });
  req.write(body.subarray(0, 1));
  return {
    finish: () => {
      req.end(body.subarray(1));
      return answer;
    },
  };
}

/** Polls `check` every 10 ms until it holds (at most `ms`). */
export async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end;) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
