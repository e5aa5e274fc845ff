/**
 * Which way a file goes, and the one-request way (the CLI's rule, cli/lib/upload-small.ts).
 *
 * An upload session costs four requests and a worker per file (openUploads, createUpload, a chunk
 * PUT, completeUpload, after hashing the file); for the small files that make up most of a drive
 * those round trips set the pace. A file that fits in one chunk gains nothing from a session
 * (nothing to resume, nothing to send in parallel), so it goes as `uploadFile` in one GraphQL
 * multipart request (https://github.com/jaydenseric/graphql-multipart-request-spec); the server
 * hashes it and applies the name, quota and dedup rules of completeUpload. Apollo's CSRF
 * prevention requires `apollo-require-preflight` on a multipart request.
 *
 * Up to 8 MiB, not the CLI's 32: a one-request upload that is paused or fails starts again from
 * its first byte, where a session keeps its chunks, and a browser is often on the least steady
 * network.
 *
 * A session is kept to continue one. A file the browser gives no type (File.type '') goes in one
 * request too: its part's Content-Type is then application/octet-stream, and `mimeType: null`
 * tells the server to record no type, as a session without one does.
 */
import { answerData, auth, freshToken, refreshNow } from './api.ts';
import { ApiError } from './errors.ts';
import { UploadFileDocument, type UploadFileMutation } from './graphql.generated.ts';

/** The server's default chunk size (internal/uploads/upload-plan.rules.ts DEFAULT_CHUNK_SIZE). */
export const ONE_REQUEST_MAX = 8 * 1024 * 1024;

/** 'request': one uploadFile request; 'session': hash, createUpload, chunks, completeUpload. */
export function uploadWay(size: number, resumeSessionId: string | null): 'request' | 'session' {
  if (resumeSessionId !== null) return 'session';
  return size <= ONE_REQUEST_MAX ? 'request' : 'session';
}

/** What a one-request upload may be given: a signal that stops it, and the bytes sent so far. */
export interface OneRequestOptions {
  signal?: AbortSignal;
  onProgress?: (sent: number) => void;
}

/**
 * One uploadFile request. Through XMLHttpRequest, not fetch: fetch reports nothing of a request
 * body's progress, so a file showed as all sent from its first byte; XHR's upload progress events
 * say how much has gone, and abort() stops the bytes (a cancelled upload used to go on and land).
 */
async function post(file: File, name: string, parentId: string, token: string | null, options: OneRequestOptions): Promise<UploadFileMutation['uploadFile']> {
  const form = new FormData();
  // size: the server streams the bytes on to storage as they arrive instead of holding them.
  form.append('operations', JSON.stringify({ query: UploadFileDocument, variables: { parentId, file: null, size: file.size, mimeType: file.type || null } }));
  // The file is the request's part "0", mapped onto variables.file.
  form.append('map', JSON.stringify({ 0: ['variables.file'] }));
  form.append('0', file, name);
  return (await postForm<UploadFileMutation>(form, token, file.size, options)).uploadFile;
}

/**
 * A GraphQL multipart request by XMLHttpRequest (progress events, abort). The body is the form:
 * its few hundred bytes of fields come before the files' `total` bytes, so progress is capped there.
 */
export function postForm<T>(form: FormData, token: string | null, total: number, options: OneRequestOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const { signal, onProgress } = options;
    if (signal?.aborted) return reject(new DOMException('The upload was stopped', 'AbortError'));
    const xhr = new XMLHttpRequest();
    const stop = () => xhr.abort();
    signal?.addEventListener('abort', stop, { once: true });
    const settle = () => signal?.removeEventListener('abort', stop);
    xhr.open('POST', '/graphql');
    xhr.setRequestHeader('apollo-require-preflight', 'true');
    if (token) xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.upload.onprogress = (event) => onProgress?.(Math.min(total, event.loaded));
    xhr.onabort = () => {
      settle();
      reject(new DOMException('The upload was stopped', 'AbortError'));
    };
    xhr.onerror = () => {
      settle();
      reject(new ApiError('Network error', 'NETWORK'));
    };
    xhr.onload = () => {
      settle();
      try {
        resolve(answerData<T>(xhr.status, xhr.responseText));
      } catch (error) {
        reject(error);
      }
    };
    xhr.send(form);
  });
}

/** `send` with a fresh token, sent again once after a refresh when the token was refused (as gql does). */
export async function withToken<T>(send: (token: string | null) => Promise<T>): Promise<T> {
  const token = await freshToken();
  try {
    return await send(token);
  } catch (error) {
    if (token && error instanceof ApiError && error.code === 'UNAUTHENTICATED' && (await refreshNow())) return send(auth.accessToken);
    throw error;
  }
}

/** The whole file in one uploadFile request (sent again once after a token refresh, as gql does). */
export function uploadInOneRequest(file: File, name: string, parentId: string, options: OneRequestOptions = {}): Promise<UploadFileMutation['uploadFile']> {
  return withToken((token) => post(file, name, parentId, token, options));
}
