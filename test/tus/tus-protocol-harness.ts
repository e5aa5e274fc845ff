/** Raw tus 1.0.0 requests (fetch) for the protocol tests, and the bytes they send. */
import { createHash, randomBytes } from 'node:crypto';
import { BLOCK_SIZE, combineBlockDigests } from '../../internal/files/content-hash.ts';

export const TUS = { 'tus-resumable': '1.0.0' };
export const OCTETS = { 'content-type': 'application/offset+octet-stream' };

export interface TusAnswer {
  status: number;
  text: string;
  headers: Headers;
}

export async function tusRequest(url: string, method: string, headers: Record<string, string>, body?: RequestInit['body']): Promise<TusAnswer> {
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body, duplex: 'half' }) } as RequestInit);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** Upload-Metadata from a record: each value Base64. */
export function metadata(values: Record<string, string>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',');
}

/** The design's content hash of a buffer (SHA-256 over the 4 MiB blocks' SHA-256s). */
export function contentHashOf(bytes: Buffer): string {
  const digests: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += BLOCK_SIZE) digests.push(createHash('sha256').update(bytes.subarray(at, at + BLOCK_SIZE)).digest());
  return combineBlockDigests(digests);
}

export function b64(algorithm: 'sha1' | 'sha256', bytes: Buffer): string {
  return createHash(algorithm).update(bytes).digest('base64');
}

export const random = (n: number) => randomBytes(n);

/** A body of `total` bytes that arrives in pieces (pseudo-random, seeded), never held whole. */
export function streamOf(total: number, seed: number, piece = 1024 * 1024): ReadableStream<Uint8Array> {
  let sent = 0;
  const block = Buffer.alloc(piece);
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(piece, total - sent);
      block.fill(seed & 0xff);
      block.writeUInt32LE(seed, 0);
      block.writeUInt32LE(sent / piece, 4);
      controller.enqueue(new Uint8Array(Buffer.from(block.subarray(0, n))));
      sent += n;
    },
  });
}

/** The content hash of streamOf(total, seed, piece), computed the same way piece by piece. */
export function streamHash(total: number, seed: number, piece = 1024 * 1024): string {
  const digests: Buffer[] = [];
  let block = createHash('sha256');
  let inBlock = 0;
  const buf = Buffer.alloc(piece);
  for (let sent = 0; sent < total; sent += piece) {
    const n = Math.min(piece, total - sent);
    buf.fill(seed & 0xff);
    buf.writeUInt32LE(seed, 0);
    buf.writeUInt32LE(sent / piece, 4);
    let at = 0;
    while (at < n) {
      const take = Math.min(BLOCK_SIZE - inBlock, n - at);
      block.update(buf.subarray(at, at + take));
      inBlock += take;
      at += take;
      if (inBlock === BLOCK_SIZE) {
        digests.push(block.digest());
        block = createHash('sha256');
        inBlock = 0;
      }
    }
  }
  if (inBlock > 0) digests.push(block.digest());
  return combineBlockDigests(digests);
}
