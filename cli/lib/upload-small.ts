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
 * A session is kept when the caller continues one (`stratus resume`). A file whose MIME type is
 * unknown (mime.ts has no entry: source code, `.bin`, names without an extension) goes in one
 * request too: its part says application/octet-stream (a part always has a Content-Type) and
 * `mimeType: null` has the server record no type, as a session does for it. It once went through
 * a session for that alone: 15 files/s against 77 for 100 KiB files (bench/profile/small-probe.ts).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { ApiError, type StratusApi } from './api.ts';
import { UploadEmptyFileDocument, type UploadEmptyFileMutation, type UploadSessionFragment } from './graphql.generated.ts';
import { multipartBody, send } from './http-send.ts';
import { mimeTypeOf } from './mime.ts';
import { uploadFile, type UploadOptions, type UploadResult } from './upload.ts';

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

/** The whole file in one uploadFile request, its part typed with `mimeType`. */
export async function uploadInOneRequest(api: StratusApi, file: string, name: string, parentId: string | null, mimeType: string | null, signal?: AbortSignal, overwrite = false): Promise<UploadedFile> {
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
  const answer = await send(new URL(`${api.url}/graphql`), 'POST', api.headers({ 'apollo-require-preflight': 'true', 'content-type': form.contentType }), form.parts, form.length, signal);
  let body: { data?: UploadEmptyFileMutation | null; errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown> } }[] };
  try {
    body = JSON.parse(answer.body.toString('utf8')) as typeof body;
  } catch {
    throw new ApiError(`HTTP ${answer.status}: not a GraphQL answer`, 'INTERNAL', undefined, answer.status);
  }
  const error = body.errors?.[0];
  if (error) throw new ApiError(error.message, error.extensions?.code ?? 'INTERNAL', error.extensions?.details, answer.status);
  if (!body.data) throw new ApiError('empty response', 'INTERNAL', undefined, answer.status);
  return body.data.uploadFile;
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
