/**
 * The upload worker: hashes a file (SHA-256 per 4 MiB block with Web Crypto, several blocks at
 * once, then SHA-256 over the concatenated digests: the server's contentHash), answers an
 * instant-upload challenge, and PUTs chunks in parallel to /upload/{sessionId}/{index} with
 * their Content-Digest, retrying transient failures. Stopping an upload terminates the worker,
 * which aborts every request in flight.
 */
import { BLOCK_SIZE, MAX_BLOCK_HASHES, type ChunkAnswer, type FromWorker, type ToWorker } from './upload-protocol.ts';

interface WorkerScope {
  postMessage(message: FromWorker): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (message: FromWorker) => scope.postMessage(message);

let token = '';
let tokenWaiters: ((token: string) => void)[] = [];

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
const b64 = (bytes: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function contentHash(file: Blob): Promise<{ hash: string; blockHashes?: string[] }> {
  const blocks = Math.ceil(file.size / BLOCK_SIZE);
  const digests: ArrayBuffer[] = new Array<ArrayBuffer>(blocks);
  let next = 0;
  let done = 0;
  const reader = async () => {
    for (let b = next++; b < blocks; b = next++) {
      const data = await file.slice(b * BLOCK_SIZE, Math.min(file.size, (b + 1) * BLOCK_SIZE)).arrayBuffer();
      digests[b] = await crypto.subtle.digest('SHA-256', data);
      done += data.byteLength;
      post({ type: 'hashProgress', bytes: done });
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, Math.max(1, blocks)) }, reader));
  const all = new Uint8Array(blocks * 32);
  digests.forEach((d, i) => all.set(new Uint8Array(d), i * 32));
  const hash = hex(await crypto.subtle.digest('SHA-256', all));
  // The block digests let the server check each chunk as it arrives (createUpload blockHashes).
  return blocks > 0 && blocks <= MAX_BLOCK_HASHES ? { hash, blockHashes: digests.map(hex) } : { hash };
}

async function proofs(file: Blob, nonce: string, ranges: { offset: number; length: number }[]): Promise<string[]> {
  const prefix = new TextEncoder().encode(nonce);
  const out: string[] = [];
  for (const range of ranges) {
    const data = new Uint8Array(await file.slice(range.offset, range.offset + range.length).arrayBuffer());
    const joined = new Uint8Array(prefix.length + data.length);
    joined.set(prefix);
    joined.set(data, prefix.length);
    out.push(hex(await crypto.subtle.digest('SHA-256', joined)));
  }
  return out;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function putOnce(sessionId: string, index: number, body: ArrayBuffer, digest: string, onProgress: (loaded: number) => void): Promise<ChunkAnswer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/upload/${encodeURIComponent(sessionId)}/${index}`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('content-digest', `sha-256=:${digest}:`);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onerror = () => reject(new HttpFailure(0, 'NETWORK', 'Network error'));
    xhr.onload = () => {
      let parsed: { error?: { code?: string; message?: string } } & Partial<ChunkAnswer> = {};
      try {
        parsed = JSON.parse(xhr.responseText) as typeof parsed;
      } catch {
        // not JSON: keep the status
      }
      if (xhr.status === 200) return resolve({ uploadedBytes: parsed.uploadedBytes ?? 0, size: parsed.size ?? 0, status: parsed.status ?? 'UPLOADING' });
      reject(new HttpFailure(xhr.status, parsed.error?.code ?? (xhr.status >= 500 ? 'UNAVAILABLE' : 'INTERNAL'), parsed.error?.message ?? `HTTP ${xhr.status}`));
    };
    xhr.send(body);
  });
}

const RETRYABLE = new Set(['NETWORK', 'UNAVAILABLE', 'CONFLICT', 'RATE_LIMITED', 'INTERNAL']);

async function putChunks(msg: Extract<ToWorker, { type: 'put' }>): Promise<void> {
  token = msg.token;
  const queue = [...msg.indexes];
  const inflight = new Map<number, number>();
  const report = () => post({ type: 'inflight', bytes: [...inflight.values()].reduce((a, b) => a + b, 0) });
  const sender = async () => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      const start = index * msg.chunkSize;
      const body = await msg.file.slice(start, Math.min(msg.file.size, start + msg.chunkSize)).arrayBuffer();
      const digest = b64(await crypto.subtle.digest('SHA-256', body));
      for (let attempt = 1; ; attempt++) {
        try {
          const i = index;
          const answer = await putOnce(msg.sessionId, i, body, digest, (loaded) => {
            inflight.set(i, loaded);
            report();
          });
          inflight.delete(i);
          post({ type: 'sent', index: i, length: body.byteLength, answer });
          report();
          break;
        } catch (error) {
          inflight.delete(index);
          report();
          const failure = error instanceof HttpFailure ? error : new HttpFailure(0, 'NETWORK', String(error));
          if (failure.code === 'UNAUTHENTICATED' && attempt < 3) {
            token = await new Promise<string>((resolve) => {
              tokenWaiters.push(resolve);
              post({ type: 'needToken' });
            });
            continue;
          }
          if (attempt >= 6 || !RETRYABLE.has(failure.code)) throw failure;
          await sleep(Math.min(8_000, 250 * 2 ** attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, msg.parallel) }, sender));
}

scope.onmessage = (event) => {
  const msg = event.data;
  const fail = (error: unknown) =>
    post({ type: 'error', code: error instanceof HttpFailure ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : String(error) });
  switch (msg.type) {
    case 'hash':
      contentHash(msg.file).then((hashed) => post({ type: 'hashed', ...hashed }), fail);
      break;
    case 'prove':
      proofs(msg.file, msg.nonce, msg.ranges).then((p) => post({ type: 'proofs', proofs: p }), fail);
      break;
    case 'put':
      putChunks(msg).then(() => post({ type: 'putDone' }), fail);
      break;
    case 'token': {
      token = msg.token;
      const waiters = tokenWaiters;
      tokenWaiters = [];
      for (const w of waiters) w(msg.token);
      break;
    }
  }
};
