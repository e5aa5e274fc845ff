/**
 * Uploads a local file through an upload session, resumably:
 * 1. hash the file (4 MiB blocks, in parallel);
 * 2. find an unfinished session of the same file (name, folder, size, hash) or create one,
 *    declaring its MIME type and each block's SHA-256 (blockHashes) with the content hash;
 * 3. when the server sends a challenge, prove ownership: known content completes at once (秒传);
 * 4. PUT the missing chunks, `parallel` at a time, each with its Content-Digest, retrying
 *    transient failures with backoff;
 * 5. complete. Killed at any point, running it again continues from the server's receipts.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError, type SessionView, type StratusApi } from './api.ts';
import { CompleteUploadDocument, CreateUploadDocument, OpenUploadsDocument, ProveOwnershipDocument, ResumeUploadDocument } from './graphql.generated.ts';
import { combineBlockDigests } from '../../internal/files/shared.ts';
import { MAX_BLOCK_HASHES } from '../../internal/uploads/shared.ts';
import { blockDigests, challengeProofs, rangeSha256 } from './hash.ts';
import { fileRange, send } from './http-send.ts';
import { mimeTypeOf } from './mime.ts';

export interface UploadOptions {
  parentId?: string | null;
  name?: string;
  parallel?: number;
  chunkSize?: number;
  /**
   * Send Content-Digest with each chunk: a second read and SHA-256 of the chunk here and one more
   * hash pass on the server. Off by default: completion verifies the whole content hash from the
   * server's own block digests anyway; on for links where an early, per-chunk refusal pays.
   */
  digest?: boolean;
  /** Declared to the server; default: from the name's extension (mime.ts), null when unknown. */
  mimeType?: string | null;
  /** Skip the instant-upload proof even when the server offers one. */
  noInstant?: boolean;
  onProgress?: (sent: number, total: number) => void;
  onSession?: (session: SessionView) => void;
  signal?: AbortSignal;
  /**
   * Continue exactly this open session (`stratus resume`): fail instead of starting a new upload
   * when it is gone or the local file no longer has its size and content hash.
   */
  sessionId?: string;
  /** `--overwrite`: a file of that name in the folder takes the content; its old content is kept as a version (conflict NEW_VERSION). */
  overwrite?: boolean;
}

export interface UploadResult {
  session: SessionView;
  instant: boolean;
  resumed: boolean;
  chunksSent: number;
}

const RETRYABLE = new Set(['UNAVAILABLE', 'CONFLICT', 'RATE_LIMITED', 'INTERNAL', 'NETWORK']);

/** The local file as the server knows it: where it goes, its size and its hashes. */
interface LocalUpload {
  file: string;
  name: string;
  parentId: string | null;
  size: number;
  contentHash: string;
  blockHashes: string[] | null;
}

export async function uploadFile(api: StratusApi, file: string, options: UploadOptions = {}): Promise<UploadResult> {
  const { size } = await stat(file);
  const name = options.name ?? path.basename(file);
  const digests = await blockDigests(file, size);
  // The block digests are computed for the content hash anyway; declared, they let the server
  // refuse a wrong chunk on arrival (digest_mismatch) instead of failing the whole file at
  // completion. The API takes at most 32768 (a 128 GiB file); larger files send none.
  const blockHashes = digests.length <= MAX_BLOCK_HASHES ? digests.map((d) => d.toString('hex')) : null;
  const local: LocalUpload = { file, name, parentId: options.parentId ?? null, size, contentHash: combineBlockDigests(digests), blockHashes };

  const opened = await openSession(api, local, options);
  const { resumed } = opened;
  let session = opened.session;
  options.onSession?.(session);
  if (session.status === 'COMPLETED') return { session, instant: true, resumed, chunksSent: 0 };

  if (session.challenge && !options.noInstant && session.uploadedChunks.length === 0) {
    const proven = await proveOrSkip(api, session, await challengeProofs(file, session.challenge.nonce, session.challenge.ranges), options.signal);
    if (proven) session = proven;
    if (session.status === 'COMPLETED') return { session, instant: true, resumed, chunksSent: 0 };
  }

  const chunksSent = await sendMissingChunks(api, local, session, options);
  session = (await api.gql(CompleteUploadDocument, { id: session.id }, options.signal)).completeUpload;
  return { session, instant: false, resumed, chunksSent };
}

/** An unfinished session of the same file (resumed when paused), the one asked for, or a new one. */
async function openSession(api: StratusApi, local: LocalUpload, options: UploadOptions): Promise<{ session: SessionView; resumed: boolean }> {
  const { file, name, size, contentHash, parentId, blockHashes } = local;
  const open = await api.gql(OpenUploadsDocument, undefined, options.signal);
  let session = open.uploads.find((s) => s.name === name && s.size === size && s.contentHash === contentHash && (parentId === null || s.parentId === parentId));
  if (options.sessionId !== undefined) {
    const wanted = open.uploads.find((s) => s.id === options.sessionId);
    if (!wanted) throw new ApiError(`upload ${options.sessionId} is no longer open`, 'NOT_FOUND');
    if (wanted.size !== size || wanted.contentHash !== contentHash) throw new ApiError(`${file} changed since upload ${wanted.id} began`, 'CONFLICT');
    session = wanted;
  }
  const resumed = session !== undefined;
  if (session?.status === 'PAUSED') {
    session = (await api.gql(ResumeUploadDocument, { id: session.id }, options.signal)).resumeUpload;
  }
  if (!session) {
    session = (
      await api.gql(CreateUploadDocument, {
        input: { parentId, name, size, contentHash, chunkSize: options.chunkSize ?? null, mimeType: options.mimeType !== undefined ? options.mimeType : mimeTypeOf(name), blockHashes, ...(options.overwrite ? { conflict: 'NEW_VERSION' as const } : {}) },
      }, options.signal)
    ).createUpload;
  }
  return { session, resumed };
}

/** PUTs the chunks the server does not have, `parallel` at a time; returns how many were sent. */
async function sendMissingChunks(api: StratusApi, { file, size }: LocalUpload, session: SessionView, options: UploadOptions): Promise<number> {
  const queue = [...session.missingChunks];
  let sent = session.uploadedBytes;
  options.onProgress?.(sent, size);
  let chunksSent = 0;
  const worker = async () => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      const start = index * session.chunkSize;
      const length = Math.min(session.chunkSize, size - start);
      await withRetry(() => putChunk(api, file, session.id, index, start, length, options), options.signal);
      chunksSent++;
      sent += length;
      options.onProgress?.(sent, size);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.parallel ?? 4) }, worker));
  return chunksSent;
}

/** Whether a chunk call's failure is worth another attempt (the session way's rule). */
const chunkRetryable = (error: unknown): boolean => RETRYABLE.has(error instanceof ApiError ? error.code : 'NETWORK');

/**
 * Up to ~40 s of retries (9 attempts, 200 ms doubling, at most 8 s apart): enough to outlast a
 * chunk lock left by a server that died (20 s). The caller's abort is no transient failure: once
 * `signal` aborts, nothing is retried and the backoff wait ends, so the call rejects at once with
 * the abort's reason. `retryable` says which failures are passing (default: the chunks' rule).
 */
export async function withRetry<T>(fn: () => Promise<T>, signal: AbortSignal | undefined, retryable: (error: unknown) => boolean = chunkRetryable): Promise<T> {
  const attempts = 9;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (error) {
      // An aborted request fails like a network error: the signal tells them apart.
      signal?.throwIfAborted();
      if (attempt >= attempts || !retryable(error)) throw error;
      await backoff(Math.min(8_000, 200 * 2 ** attempt), signal);
    }
  }
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
async function backoff(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(ms, undefined, { signal });
  } catch (error) {
    // timers/promises rejects with its own AbortError; the caller's reason is the one to report.
    signal?.throwIfAborted();
    throw error;
  }
}

async function putChunk(api: StratusApi, file: string, sessionId: string, index: number, start: number, length: number, options: UploadOptions): Promise<void> {
  const headers: Record<string, string> = api.headers({ 'content-type': 'application/octet-stream' });
  if (options.digest === true) headers['content-digest'] = `sha-256=:${(await rangeSha256(file, start, length)).toString('base64')}:`;
  const answer = await send(new URL(`${api.url}/upload/${sessionId}/${index}`), 'PUT', headers, [fileRange(file, start, length)], length, options.signal);
  if (answer.status === 200) return;
  let body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } = {};
  try {
    body = JSON.parse(answer.body.toString('utf8')) as typeof body;
  } catch {
    // not JSON: keep the status
  }
  throw new ApiError(body.error?.message ?? `HTTP ${answer.status}`, body.error?.code ?? 'INTERNAL', body.error?.details, answer.status);
}

/**
 * Instant upload is an optimisation: when the person's proofs for the minute are spent (a folder of
 * many big files), the server says "upload the file instead" (RATE_LIMITED proof_attempts), and
 * so the bytes are sent rather than the upload failing. null: no proof was made.
 */
async function proveOrSkip(api: StratusApi, session: { id: string }, proofs: string[], signal: AbortSignal | undefined) {
  try {
    return (await api.gql(ProveOwnershipDocument, { id: session.id, proofs }, signal)).proveOwnership;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'RATE_LIMITED' && error.details?.reason === 'proof_attempts') return null;
    throw error;
  }
}
