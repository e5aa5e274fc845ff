/**
 * Which way a file goes, and the one-request way.
 *
 * An upload session costs at least four requests per file (openUploads, createUpload, one chunk
 * PUT, completeUpload) and several transactions: for the files that dominate a drive (84 % under
 * 1 MB in the ownCloud/OpenCloud load model) those round trips, not the bytes, set the pace. A file
 * that fits in one chunk gains nothing from a session (nothing to resume, nothing to send in
 * parallel), so it goes as `uploadFile` in one GraphQL multipart request
 * (https://github.com/jaydenseric/graphql-multipart-request-spec), streamed from disk; the server
 * hashes it, checks the name and the quota, and shares the blob of known content (dedup) exactly
 * as completeUpload does. Apollo's CSRF prevention requires `apollo-require-preflight` on it.
 *
 * Up to 32 MiB by default, four default chunks: measured here (bench/profile/small-probe.ts, 16 MiB
 * files, 4 in flight) a session cost the server 184 CPU ms per file and the client 76, one request
 * 79 and 9, and the files went 10.4/s against 4.6 (a session's 29 SQL statements and 37 Redis
 * commands, a multipart upload and its completion in the backend). What a session still gives a
 * file of that size is resuming after a failure: at most 32 MiB to send again, as rclone sends up
 * to 200 MiB to S3 in one PUT. Asking for a chunk size (--chunk-size) sets the bound instead.
 *
 * A request that fails for a moment is sent again, as a session's chunks are (upload.ts): when the
 * server refused it for now (UNAVAILABLE, RATE_LIMITED: nothing was stored, a refusal leaves
 * nothing half-written) or no answer came (the connection failed, a gateway said 502/504). Without
 * an answer the file may have been stored all the same: if the next attempt finds the name taken,
 * the file holding it is taken as this upload's when it has the local file's size and content hash
 * (the same bytes under the same name: what the upload was to make), else the conflict stands.
 *
 * A session is kept when the caller continues one (`stratus resume`). A file whose MIME type is
 * unknown (mime.ts has no entry: source code, `.bin`, names without an extension) goes in one
 * request too: its part says application/octet-stream (a part always has a Content-Type) and
 * `mimeType: null` has the server record no type, as a session does for it. It once went through
 * a session for that alone: 15 files/s against 77 for 100 KiB files (bench/profile/small-probe.ts).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, dataOf, type GraphQLAnswer, type StratusApi } from './api.ts';
import { UploadEmptyFileDocument, type UploadEmptyFileMutation, type UploadSessionFragment } from './graphql.generated.ts';
import { multipartBody, send } from './http-send.ts';
import { mimeTypeOf } from './mime.ts';
import { fileContentHash } from './hash.ts';
import { findChild } from './remote-path.ts';
import { uploadFile, withRetry, type UploadOptions, type UploadResult } from './upload.ts';

/** The file an upload made: the same fields as the UploadSession fragment's `file`. */
export type UploadedFile = NonNullable<UploadSessionFragment['file']>;

/** The largest file sent in one request when no chunk size is asked for (the server takes up to 256 MiB). */
export const ONE_REQUEST_MAX = 32 * 1024 * 1024;

export interface WayOptions {
  /** The chunk size asked for: files up to it go in one request (default ONE_REQUEST_MAX). */
  chunkSize?: number;
  /** A session to continue: always the session way. */
  sessionId?: string;
}

/**
 * 'request': one uploadFile request; 'session': createUpload + chunks + completeUpload. Empty
 * files always go in one request (a session needs at least one byte).
 */
export function uploadWay(size: number, options: WayOptions = {}): 'request' | 'session' {
  if (options.sessionId !== undefined) return 'session';
  return size <= (options.chunkSize ?? ONE_REQUEST_MAX) ? 'request' : 'session';
}

/** What became of one attempt that failed: refused for now, lost on the way (may have been stored), or final. */
export function failureOf(error: unknown): 'refused' | 'lost' | 'final' {
  if (error instanceof ApiError) {
    if (error.code === 'UNAVAILABLE' || error.code === 'RATE_LIMITED') return 'refused';
    // A gateway's answer, not the server's (no GraphQL body): the server may still have finished.
    return error.status === 502 || error.status === 504 ? 'lost' : 'final';
  }
  // Node's network errors carry a code (ECONNRESET, ECONNREFUSED, EPIPE, ETIMEDOUT…); a file that
  // changed while it was sent (http-send.ts) does not, and is not sent again.
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^E[A-Z_]+$/.test(code) ? 'lost' : 'final';
}

const nameTaken = (error: unknown): boolean => error instanceof ApiError && error.code === 'CONFLICT' && error.details?.reason === 'name_taken';

/** The file that holds `name` in the folder, when it has the local file's bytes (size and content hash). */
export async function sameFileThere(api: StratusApi, file: string, name: string, parentId: string | null): Promise<UploadedFile | undefined> {
  const there = await findChild(api, { id: parentId, path: '' }, name);
  const { size } = await stat(file);
  if (!there || there.isFolder || there.size !== size || there.contentHash !== (await fileContentHash(file, size))) return undefined;
  return { id: there.id, name: there.name, size: there.size, contentHash: there.contentHash, mimeType: there.mimeType };
}

/** The whole file in one uploadFile request, its part typed with `mimeType`; sent again after a passing failure. */
export function uploadInOneRequest(api: StratusApi, file: string, name: string, parentId: string | null, mimeType: string | null, signal?: AbortSignal, overwrite = false): Promise<UploadedFile> {
  let lost = false;
  const attempt = async (): Promise<UploadedFile> => {
    try {
      return await postFile(api, file, name, parentId, mimeType, signal, overwrite);
    } catch (error) {
      if (lost && !overwrite && nameTaken(error) && !signal?.aborted) {
        const mine = await sameFileThere(api, file, name, parentId);
        if (mine) return mine;
      }
      lost ||= failureOf(error) === 'lost';
      throw error;
    }
  };
  return withRetry(attempt, signal, (error) => failureOf(error) !== 'final');
}

/** One uploadFile request. */
async function postFile(api: StratusApi, file: string, name: string, parentId: string | null, mimeType: string | null, signal: AbortSignal | undefined, overwrite: boolean): Promise<UploadedFile> {
  // Streamed from disk, never whole in memory; the size measured here is the size sent (a file
  // that changes meanwhile fails the request, http-send.ts).
  const { size } = await stat(file);
  const operations = JSON.stringify({
    query: UploadEmptyFileDocument,
    // The file is the multipart request's part "0", mapped onto variables.file. With its size the
    // server streams the bytes on to storage as they arrive instead of holding them until the end.
    // mimeType null: no type known, none recorded (the part itself must say application/octet-stream).
    variables: { parentId, file: null, conflict: overwrite ? 'NEW_VERSION' : 'FAIL', size, mimeType },
  });
  const form = multipartBody([['operations', operations], ['map', JSON.stringify({ 0: ['variables.file'] })]], { field: '0', name, type: mimeType ?? 'application/octet-stream', path: file, size });
  return (await postMultipart<UploadEmptyFileMutation>(api, form, signal)).uploadFile;
}

/** A GraphQL multipart request (Apollo's CSRF prevention wants apollo-require-preflight) and its answer's data. */
export async function postMultipart<T>(api: StratusApi, form: ReturnType<typeof multipartBody>, signal: AbortSignal | undefined): Promise<T> {
  const answer = await send(new URL(`${api.url}/graphql`), 'POST', api.headers({ 'apollo-require-preflight': 'true', 'content-type': form.contentType }), form.parts, form.length, signal);
  let body: GraphQLAnswer<T>;
  try {
    body = JSON.parse(answer.body.toString('utf8')) as typeof body;
  } catch {
    throw new ApiError(`HTTP ${answer.status}: not a GraphQL answer`, 'INTERNAL', undefined, answer.status);
  }
  return dataOf(body, answer.status);
}

export interface SentFile {
  file: UploadedFile;
  way: 'request' | 'session';
  /** The session's result, for the session way. */
  session?: UploadResult;
}

/** Uploads a local file the way uploadWay chooses: what `stratus upload` does, without its bookkeeping. */
export async function sendFile(api: StratusApi, file: string, options: UploadOptions = {}): Promise<SentFile> {
  const name = options.name ?? path.basename(file);
  const mimeType = options.mimeType !== undefined ? options.mimeType : mimeTypeOf(name);
  if (uploadWay((await stat(file)).size, options) === 'request') {
    return { file: await uploadInOneRequest(api, file, name, options.parentId ?? null, mimeType, options.signal, options.overwrite ?? false), way: 'request' };
  }
  const result = await uploadFile(api, file, { ...options, name, mimeType });
  if (!result.session.file) throw new ApiError(`upload ${result.session.id} ended ${result.session.status} without a file`, 'INTERNAL');
  return { file: result.session.file, way: 'session', session: result };
}
