/** Sends chosen chunks of a local file to an upload session by PUT (fault tests drive this by hand). */
import { open } from 'node:fs/promises';

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
