/**
 * Downloads a file's bytes (GET /files/{id}/content) to a local path, resumably:
 * - a sidecar `<out>.stratus-download.json` records the file id and the ETag of the first answer;
 *   while it exists, `<out>` is a partial download we may append to;
 * - a rerun asks for `Range: bytes=<length>-` with `If-Range: <etag>`: 206 appends; 200 means
 *   the file changed on the server (the validator no longer matches), so we start over;
 * - at the end the whole local file is hashed and compared with the file's contentHash. A resumed
 *   download that does not match (the partial file was damaged on disk) is fetched once more from
 *   the start; a fresh download that does not match fails with HASH_MISMATCH.
 * The sidecar is removed once the bytes are verified. When the server redirects a plain GET to
 * its storage backend (a presigned URL), fetch follows it; resumes carry If-Range, which the server
 * always answers itself.
 */
import { createWriteStream } from 'node:fs';
import { readFile, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type StratusApi } from './api.ts';
import { RemoteFileDocument } from './graphql.generated.ts';
import { fileContentHash } from './hash.ts';

export interface DownloadOptions {
  /** Overwrite an existing `out` that is not a partial download of ours. */
  force?: boolean;
  /** Bytes per second at most (like curl's --limit-rate); 0 or undefined: no limit. */
  limitRate?: number;
  onProgress?: (done: number, total: number) => void;
  /** Human-readable notes: resumed, restarted, verifying. */
  onStatus?: (message: string) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  name: string;
  bytes: number;
  contentHash: string;
  /** The offset the last request continued from (0: from the start). */
  resumedAt: number;
  restarted: boolean;
}

interface Sidecar {
  id: string;
  etag: string;
  size: number;
}

const localError = (code: string, message: string) => Object.assign(new Error(message), { code });
const sizeOf = (file: string) => stat(file).then((s) => s.size, () => undefined);

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Sidecar;
  } catch {
    return undefined;
  }
}

interface RemoteFile {
  name: string;
  size: number;
  contentHash: string;
}

export async function downloadFile(api: StratusApi, id: string, out: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  const file = await remoteFile(api, id, options.signal);
  const expected = file.contentHash;
  const sidecarPath = `${out}.stratus-download.json`;
  let sidecar = await readSidecar(sidecarPath);
  let offset = await startingOffset(out, id, file.size, sidecar, options.force);
  let restarted = false;
  for (;;) {
    const resumedAt = offset;
    if (offset === file.size && offset > 0 && sidecar?.etag === `"${expected}"`) {
      options.onStatus?.(`all ${offset} bytes already present`);
    } else {
      const result = await fetchRange(api, id, out, { size: file.size, etag: `"${expected}"` }, offset, sidecar, options);
      sidecar = result.sidecar;
      if (result.offset === 0 && offset > 0) {
        options.onStatus?.(`file changed on the server (ETag no longer ${sidecar.etag}): starting over`);
        restarted = true;
      }
      offset = result.offset;
    }
    const actual = await localContentHash(out, file.size, options);
    if (actual === expected) {
      await unlink(sidecarPath).catch(() => undefined);
      return { name: file.name, bytes: file.size, contentHash: actual, resumedAt, restarted };
    }
    if (offset > 0 && !restarted) {
      // The server's bytes are verified end to end in every other case, so a mismatch after an
      // append points at the part already on disk: damaged or edited. Fetch it all once more.
      options.onStatus?.(`content hash mismatch after resuming (partial file damaged): downloading again from the start`);
      offset = 0;
      restarted = true;
      continue;
    }
    throw localError('HASH_MISMATCH', `content hash of ${out} is ${actual}, expected ${expected}: the download is corrupt`);
  }
}

async function remoteFile(api: StratusApi, id: string, signal?: AbortSignal): Promise<RemoteFile> {
  const { file } = await api.gql(RemoteFileDocument, { id }, signal);
  if (file.isFolder || !file.contentHash) throw new ApiError(`${id} is a folder`, 'BAD_INPUT');
  return { name: file.name, size: file.size, contentHash: file.contentHash };
}

/** Where to continue: the length of a partial download of this file at `out`, else 0. */
async function startingOffset(out: string, id: string, size: number, sidecar: Sidecar | undefined, force: boolean | undefined): Promise<number> {
  const existing = await sizeOf(out);
  if (existing !== undefined && sidecar?.id !== id && !force) {
    throw localError('EXISTS', `${out} exists and is not a partial download of ${id} (use --force to overwrite)`);
  }
  return existing !== undefined && sidecar?.id === id && existing <= size ? existing : 0;
}

async function localContentHash(out: string, size: number, options: DownloadOptions): Promise<string> {
  const got = await sizeOf(out);
  if (got !== size) throw localError('SIZE_MISMATCH', `${out} has ${got} bytes, expected ${size}`);
  options.onStatus?.('verifying content hash');
  return fileContentHash(out, size);
}

/**
 * One GET from `offset`; returns where the written bytes begin (0 when the server sent all of it).
 * `file.etag` is the validator Stratus sends (`"<contentHash>"`); it is the one to keep when the
 * server redirected us to its storage backend, whose own ETag means nothing to Stratus.
 */
async function fetchRange(api: StratusApi, id: string, out: string, file: { size: number; etag: string }, offset: number, sidecar: Sidecar | undefined, options: DownloadOptions) {
  const { size } = file;
  const res = await requestFrom(api, id, offset, sidecar, options.signal);
  const start = res.status === 206 ? offset : 0;
  if (start > 0) options.onStatus?.(`resumed at ${start}`);
  // fetch follows the 302 and, the backend being another origin, drops our Authorization header.
  const etag = res.redirected ? file.etag : res.headers.get('etag');
  if (!etag || !res.body) throw localError('BAD_RESPONSE', 'the server sent no ETag or no body');
  const next: Sidecar = { id, etag, size };
  // Written before the first byte: from here on `out` is a partial download a rerun may continue.
  await writeFile(`${out}.stratus-download.json`, `${JSON.stringify(next)}\n`);
  if (start === 0) await truncate(out, 0).catch(() => undefined);
  options.onProgress?.(start, size);
  const meter = rateMeter(start, size, options);
  await pipeline(Readable.fromWeb(res.body as ReadableStream<Uint8Array>), meter, createWriteStream(out, { flags: start === 0 ? 'w' : 'a' }), { signal: options.signal });
  return { offset: start, sidecar: next };
}

/** GET the content, from `offset` with If-Range when resuming; a 200 or a 206 that starts there. */
async function requestFrom(api: StratusApi, id: string, offset: number, sidecar: Sidecar | undefined, signal: AbortSignal | undefined): Promise<Response> {
  const ranged = offset > 0 && sidecar !== undefined;
  const headers = api.headers(ranged ? { range: `bytes=${offset}-`, 'if-range': sidecar.etag } : {});
  const res = await fetch(`${api.url}/files/${encodeURIComponent(id)}/content`, { headers, signal });
  if (res.status !== 200 && res.status !== 206) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(body.error?.message ?? `HTTP ${res.status}`, body.error?.code ?? 'INTERNAL', undefined, res.status);
  }
  if (res.status === 206 && !res.headers.get('content-range')?.startsWith(`bytes ${offset}-`)) {
    throw localError('BAD_RESPONSE', `asked for bytes from ${offset}, got ${res.headers.get('content-range')}`);
  }
  return res;
}

/** Reports progress and holds chunks back to keep to `limitRate` bytes a second. */
function rateMeter(start: number, size: number, options: DownloadOptions): Transform {
  let done = start;
  const began = Date.now();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      options.onProgress?.(done, size);
      // Holding the chunk back is what slows the socket: the pipeline stops reading meanwhile.
      const due = options.limitRate ? ((done - start) / options.limitRate) * 1000 - (Date.now() - began) : 0;
      if (due <= 0) return callback(null, chunk);
      sleep(due).then(() => callback(null, chunk), callback);
    },
  });
}
