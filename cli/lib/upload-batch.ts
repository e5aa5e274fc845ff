/**
 * Many files at once, as `stratus upload FILE...` sends them. Files up to BATCH_FILE_MAX go
 * together, up to BATCH_FILES files and BATCH_BYTES bytes per `uploadFiles` request (one GraphQL
 * multipart request, one transaction on the server); a larger file goes alone, the way sendFile
 * chooses. Requests go `parallel` at a time.
 *
 * Why: most files of a drive are small (84 % under 1 MB in the ownCloud/OpenCloud load model), and
 * for a small file the request, the GraphQL operation, the server's service calls and its
 * transaction cost more than its bytes: measured here (bench/profile/small-probe.ts, 100 KiB
 * files, 4 in flight) one uploadFile per file cost the server 9.9 CPU ms and 8.5 SQL statements
 * a file; a batch shares all of that. On a link with a round-trip time of its own, it also saves
 * one round trip per file.
 *
 * A batch is sent again after a passing failure, as a one-request upload is (upload-small.ts): the
 * server refused it for now, or no answer came. Without an answer its files may have been stored
 * all the same, so after such an attempt a file refused as name_taken is taken as stored when the
 * file holding the name has the local size and content hash. A file the server refused for now on
 * its own (its bytes could not be stored: UNAVAILABLE) is sent again alone.
 */
import { ApiError, type StratusApi } from './api.ts';
import { UploadFilesDocument, type UploadFilesMutation } from './graphql.generated.ts';
import { multipartBody } from './http-send.ts';
import { mimeTypeOf } from './mime.ts';
import { withRetry } from './upload.ts';
import { failureOf, postMultipart, sameFileThere, sendFile, uploadInOneRequest, type UploadedFile } from './upload-small.ts';

/** Files up to this size go together (a batch's bodies are held by the server until its request is read). */
export const BATCH_FILE_MAX = 1024 * 1024;
/** At most this many files per request (the server takes 100). */
export const BATCH_FILES = 32;
/** At most this many bytes per request. */
export const BATCH_BYTES = 8 * 1024 * 1024;

export interface LocalFile {
  path: string;
  /** The name in the drive. */
  name: string;
  size: number;
}

export interface BatchOptions {
  parentId?: string | null;
  /** Requests in flight (default 4). */
  parallel?: number;
  /** A file of that name takes the content as its new version (conflict NEW_VERSION). */
  overwrite?: boolean;
  signal?: AbortSignal;
  /** For a file that goes alone (sendFile): its chunk size, and no instant-upload proof. */
  chunkSize?: number | undefined;
  noInstant?: boolean | undefined;
  /** Told of each file as its upload ends. */
  onFile?: (file: LocalFile, outcome: FileOutcome) => void;
}

export type FileOutcome = { file: UploadedFile; way: 'batch' | 'request' | 'session'; error?: undefined } | { error: Error; file?: undefined };

/** Uploads `files` into one folder; the outcomes in the same order. One file's failure is its own. */
export async function sendFiles(api: StratusApi, files: LocalFile[], options: BatchOptions = {}): Promise<FileOutcome[]> {
  const outcomes: FileOutcome[] = [];
  const done = (i: number, outcome: FileOutcome) => {
    outcomes[i] = outcome;
    options.onFile?.(files[i] as LocalFile, outcome);
  };
  const jobs: (() => Promise<void>)[] = [];
  for (const group of plan(files)) {
    if (group.length === 1 && (files[group[0] as number] as LocalFile).size > BATCH_FILE_MAX) {
      const i = group[0] as number;
      jobs.push(() => alone(api, files[i] as LocalFile, options).then((o) => done(i, o)));
    } else {
      jobs.push(() => batch(api, group.map((i) => files[i] as LocalFile), options).then((os) => os.forEach((o, k) => done(group[k] as number, o))));
    }
  }
  await inFlight(jobs, options.parallel ?? 4);
  return outcomes;
}

/** The files' indexes in groups: small files in order into batches, each larger file a group of its own. */
export function plan(files: LocalFile[]): number[][] {
  const groups: number[][] = [];
  let open: number[] = [];
  let bytes = 0;
  for (const [i, file] of files.entries()) {
    if (file.size > BATCH_FILE_MAX) {
      groups.push([i]);
      continue;
    }
    if (open.length >= BATCH_FILES || bytes + file.size > BATCH_BYTES) {
      groups.push(open);
      open = [];
      bytes = 0;
    }
    open.push(i);
    bytes += file.size;
  }
  if (open.length > 0) groups.push(open);
  return groups;
}

async function alone(api: StratusApi, file: LocalFile, options: BatchOptions): Promise<FileOutcome> {
  try {
    const { chunkSize, noInstant, signal } = options;
    const sent = await sendFile(api, file.path, { name: file.name, parentId: options.parentId ?? null, overwrite: options.overwrite ?? false, ...(chunkSize ? { chunkSize } : {}), ...(noInstant ? { noInstant } : {}), ...(signal ? { signal } : {}) });
    return { file: sent.file, way: sent.way };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return { error: error as Error };
  }
}

type Result = UploadFilesMutation['uploadFiles'][number];

/** One batch, sent again after a passing failure; a file refused for now is sent again alone. */
async function batch(api: StratusApi, files: LocalFile[], options: BatchOptions): Promise<FileOutcome[]> {
  const parentId = options.parentId ?? null;
  const overwrite = options.overwrite ?? false;
  let lost = false;
  const attempt = async (): Promise<Result[]> => {
    try {
      return await postBatch(api, files, parentId, overwrite, options.signal);
    } catch (error) {
      lost ||= failureOf(error) === 'lost';
      throw error;
    }
  };
  let results: Result[];
  try {
    results = await withRetry(attempt, options.signal, (error) => failureOf(error) !== 'final');
  } catch (error) {
    if (options.signal?.aborted) throw error;
    return files.map(() => ({ error: error as Error }));
  }
  return Promise.all(results.map((r, k) => outcomeOf(api, files[k] as LocalFile, r, { ...options, parentId, overwrite, lost })));
}

/** A file's result as its outcome: after a lost attempt a name taken by the same bytes is this upload's; a refusal for now is sent again alone. */
async function outcomeOf(api: StratusApi, file: LocalFile, r: Result, how: BatchOptions & { parentId: string | null; overwrite: boolean; lost: boolean }): Promise<FileOutcome> {
  if (r.file) return { file: r.file, way: 'batch' };
  const refusal = refusalOf(r);
  if (how.lost && !how.overwrite && refusal.details?.reason === 'name_taken') {
    const mine = await sameFileThere(api, file.path, file.name, how.parentId);
    if (mine) return { file: mine, way: 'batch' };
  }
  if (failureOf(refusal) !== 'refused') return { error: refusal };
  try {
    return { file: await uploadInOneRequest(api, file.path, file.name, how.parentId, mimeTypeOf(file.name), how.signal, how.overwrite), way: 'request' };
  } catch (error) {
    if (how.signal?.aborted) throw error;
    return { error: error as Error };
  }
}

/** A file's refusal as the ApiError a request of its own would have thrown. */
function refusalOf(r: Result): ApiError {
  const e = r.error ?? { message: 'not stored', code: 'INTERNAL', reason: null, field: null };
  return new ApiError(e.message, e.code, e.reason ? { reason: e.reason, ...(e.field ? { field: e.field } : {}) } : undefined);
}

/** One uploadFiles request: the files streamed from disk, each with its size, name and type. */
async function postBatch(api: StratusApi, files: LocalFile[], parentId: string | null, overwrite: boolean, signal: AbortSignal | undefined): Promise<Result[]> {
  const types = files.map((f) => mimeTypeOf(f.name));
  const operations = JSON.stringify({
    query: UploadFilesDocument,
    // mimeType null: no type known, none recorded (the part itself must say application/octet-stream).
    variables: { parentId, conflict: overwrite ? 'NEW_VERSION' : 'FAIL', files: files.map((f, i) => ({ file: null, size: f.size, name: f.name, mimeType: types[i] ?? null })) },
  });
  const map = Object.fromEntries(files.map((_, i) => [i, [`variables.files.${i}.file`]]));
  const form = multipartBody(
    [['operations', operations], ['map', JSON.stringify(map)]],
    files.map((f, i) => ({ field: String(i), name: f.name, type: types[i] ?? 'application/octet-stream', path: f.path, size: f.size })),
  );
  const results = (await postMultipart<UploadFilesMutation>(api, form, signal)).uploadFiles;
  if (results.length !== files.length) throw new ApiError(`uploadFiles answered ${results.length} results for ${files.length} files`, 'INTERNAL');
  return results;
}

/** Runs `jobs`, `n` at a time. */
async function inFlight(jobs: (() => Promise<void>)[], n: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await (jobs[next++] as () => Promise<void>)();
  };
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, worker));
}
