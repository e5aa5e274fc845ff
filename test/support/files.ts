/** Deterministic test files on disk and streaming hashes of downloads. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { pseudoRandom } from '../../internal/storage/test-bytes.ts';
import { BlockHasher } from '../../internal/files/content-hash.ts';
import { tempDir } from './db.ts';

/** Writes `size` pseudo-random bytes (seeded) to a temp file, 8 MiB at a time. */
export async function makeFile(name: string, size: number, seed = name): Promise<string> {
  const file = path.join(tempDir('stratus-file-'), name);
  const out = createWriteStream(file);
  const step = 8 * 1024 * 1024;
  for (let offset = 0; offset < size; offset += step) {
    if (!out.write(pseudoRandom(`${seed}:${offset}`, Math.min(step, size - offset)))) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

/** Downloads a URL and returns the content hash and SHA-256 of its body, never holding it whole. */
export async function hashDownload(url: string, headers: Record<string, string>): Promise<{ status: number; contentHash: string; sha256: string; bytes: number }> {
  const res = await fetch(url, { headers });
  const blocks = new BlockHasher();
  // Nobody reads the hasher's output: let it flow away, or its buffer fills and it stalls.
  blocks.resume();
  const whole = createHash('sha256');
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const buffer = Buffer.from(chunk);
    whole.update(buffer);
    blocks.write(buffer);
    bytes += buffer.length;
  }
  blocks.end();
  await once(blocks, 'end');
  return { status: res.status, contentHash: blocks.contentHash(), sha256: whole.digest('hex'), bytes };
}
