/**
 * The drop page's uploader: Uppy (@uppy/core) sending through tus (@uppy/tus, tus-js-client) to
 * `/drop/{token}/tus/`, and what the page shows of it.
 *
 * Resume after a reload: tus-js-client keeps each unfinished upload's URL in localStorage under a
 * fingerprint (Uppy's file id — name, type, size, last modified — plus the endpoint, so per link).
 * Choosing or dropping the same file again finds it, asks the server for the offset (HEAD) and goes
 * on from there ("The Client SHOULD send a HEAD request … to determine the offset at which the upload
 * should be continued", tus 1.0.0 §Core Protocol). A finished upload's entry is removed
 * (removeFingerprintOnSuccess), so sending the same file again later makes a new upload.
 */
import Uppy, { type UppyFile } from '@uppy/core';
import Tus from '@uppy/tus';
import type { DetailedError, HttpRequest, HttpResponse } from 'tus-js-client';
import { formatBytes } from './format.ts';

/**
 * Bytes per PATCH. Any length works against Stratus (a PATCH streams into the backend whatever its
 * size), but a bounded one means a reload or a dropped connection costs at most one chunk and the
 * progress the server has kept moves in visible steps. A multiple of the 4 MiB content-hash block.
 */
export const DROP_CHUNK_BYTES = 8 * 1024 * 1024;

type DropUppy = Uppy<Record<string, never>, Record<string, never>>;
type DropFile = UppyFile<Record<string, never>, Record<string, never>>;

export type DropFileStatus = 'waiting' | 'uploading' | 'done' | 'failed';

export interface DropFileView {
  id: string;
  name: string;
  size: number;
  sent: number;
  status: DropFileStatus;
  error: string | null;
  /** The server's offset when this upload was picked up again after a reload (> 0). */
  resumedFrom: number | null;
}

/** What the server's refusal means for the whole page, beside the file's own message. */
export type DropFailure = 'dead' | 'locked' | null;

export interface DropUploaderOptions {
  token: string;
  /** The drop token from unlockUploadLink (password links), read before every request. */
  unlockToken: () => string | null;
  /** The link is gone (404) or needs the password again (401/403). */
  onFailure: (failure: Exclude<DropFailure, null>) => void;
  /** Uppy's refusals before upload (e.g. a file already in the list). */
  onNotice: (message: string) => void;
}

export function dropEndpoint(token: string): string {
  return `${location.origin}/drop/${encodeURIComponent(token)}/tus/`;
}

export interface DropUploader {
  uppy: DropUppy;
  /** What the page shows of each file, in the order they were added. */
  views(): DropFileView[];
  /** Sends a failed file again: tus asks the server's offset first, so it goes on from there. */
  retry(fileId: string): void;
}

export function createDropUploader(options: DropUploaderOptions): DropUploader {
  const endpoint = dropEndpoint(options.token);
  // A stable Uppy id keeps file ids — and so tus fingerprints — the same across reloads.
  const uppy: DropUppy = new Uppy({ id: 'stratus-drop', autoProceed: true, allowMultipleUploadBatches: true });
  const resumedFrom = new Map<string, number>();
  const errors = new Map<string, string>();
  // Each response's status and body, by its XHR: @uppy/tus aborts the request before it reports
  // the error (an aborted XHR reads status 0 and no body), so they are kept as they arrive.
  const answers = new WeakMap<object, Answer>();
  uppy.use(Tus, {
    endpoint,
    chunkSize: DROP_CHUNK_BYTES,
    limit: 3,
    retryDelays: [0, 1000, 3000, 5000, 10000],
    removeFingerprintOnSuccess: true,
    // name and type, which @uppy/tus copies to `filename` and `filetype` (the metadata Stratus
    // reads); nothing else of Uppy's meta (e.g. relativePath) is sent.
    allowedMetaFields: ['name', 'type'],
    onBeforeRequest: (req: HttpRequest) => {
      const unlock = options.unlockToken();
      if (unlock) req.setHeader('Authorization', `Bearer ${unlock}`);
    },
    onAfterResponse: (req: HttpRequest, res: HttpResponse) => {
      answers.set(res.getUnderlyingObject() as object, { status: res.getStatus(), body: res.getBody() ?? '' });
      if (req.getMethod() !== 'HEAD') return;
      const offset = Number(res.getHeader('Upload-Offset') ?? 0);
      if (res.getStatus() === 200 && offset > 0) resumedFrom.set(req.getURL(), offset);
    },
  });
  uppy.on('upload-error', (file, error) => {
    const answer = answerOf(error, answers);
    if (file) errors.set(file.id, dropErrorText(answer));
    const status = answer?.status;
    // 404 for every request of a dead link (unknown, expired, revoked: one answer); 410 is only
    // an expired upload, which choosing the file again starts over.
    if (status === 404) options.onFailure('dead');
    if (status === 401 || status === 403) options.onFailure('locked');
  });
  uppy.on('restriction-failed', (_file, error) => options.onNotice(error.message));
  // A retried file starts clean.
  uppy.on('upload', (_id, files) => {
    for (const file of files) errors.delete(file.id);
  });
  return {
    uppy,
    views: () => uppy.getFiles().map((f) => viewOf(f, resumedFrom, errors)),
    retry: (fileId) => void uppy.retryUpload(fileId).catch(() => undefined),
  };
}

interface Answer {
  status: number;
  body: string;
}

/** The server's answer behind a tus error (none: the connection failed). */
function answerOf(error: unknown, answers: WeakMap<object, Answer>): Answer | null {
  const response = (error as Partial<DetailedError> | null)?.originalResponse;
  const xhr = response?.getUnderlyingObject() as object | undefined;
  if (xhr) return answers.get(xhr) ?? null;
  // Uppy wraps network failures; the tus error is its cause.
  const cause = (error as { cause?: unknown } | null)?.cause;
  return cause && cause !== error ? answerOf(cause, answers) : null;
}

/** The stable reason a tus refusal starts its text/plain body with (`<reason>: <message>`). */
function reasonOf(answer: Answer | null): string {
  return /^([a-z0-9_]+):/.exec(answer?.body.trim() ?? '')?.[1] ?? '';
}

const BY_REASON: Record<string, string> = {
  upload_link_files_limit: 'This link takes no more files.',
  upload_link_bytes_limit: 'This file is larger than the link still accepts.',
};

/** A sentence for one file's failure. */
function dropErrorText(answer: Answer | null): string {
  const status = answer?.status ?? null;
  const reason = reasonOf(answer);
  const byReason = BY_REASON[reason];
  if (byReason) return byReason;
  if (reason.startsWith('name_')) return 'This file’s name is not allowed in a drive. Rename the file, then choose it again.';
  if (status === 404) return 'This link does not exist, has expired or was revoked.';
  if (status === 410) return 'This upload expired. Choose the file again to start over.';
  if (status === 401 || status === 403) return 'Enter the link’s password again, then choose the file again.';
  // The owner's free space is theirs to know: a full drive reads like the link's own limit.
  if (status === 413) return 'This file is larger than the link can take now.';
  if (status === 429) return 'Too many uploads from your address just now. Wait a minute, then retry.';
  if (status === 400) return 'Stratus refused this file. Rename it and try again.';
  if (status === null) return 'The connection was lost. Retry to continue where it stopped.';
  return 'The upload failed. Retry to continue where it stopped.';
}

function statusOfFile(file: DropFile): DropFileStatus {
  if (file.error) return 'failed';
  if (file.progress.uploadComplete) return 'done';
  return file.progress.uploadStarted ? 'uploading' : 'waiting';
}

function viewOf(file: DropFile, resumedFrom: Map<string, number>, errors: Map<string, string>): DropFileView {
  const size = file.size ?? 0;
  const url = file.tus?.uploadUrl ?? file.uploadURL ?? '';
  return {
    id: file.id,
    name: file.name,
    size,
    sent: Math.min(size, file.progress.bytesUploaded || 0),
    status: statusOfFile(file),
    error: file.error ? (errors.get(file.id) ?? 'The upload failed. Retry to continue where it stopped.') : null,
    resumedFrom: (url && resumedFrom.get(url)) || null,
  };
}

interface StoredUpload {
  size?: number;
  metadata?: { filename?: string };
  uploadUrl?: string;
}

/** Uploads through this link that a reload (or a closed tab) left unfinished: their names and sizes. */
export function unfinishedUploads(token: string): { name: string; size: string }[] {
  const endpoint = dropEndpoint(token);
  const out: { name: string; size: string }[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i) ?? '';
    if (!key.startsWith('tus::') || !key.includes(endpoint)) continue;
    try {
      const stored = JSON.parse(localStorage.getItem(key) ?? '{}') as StoredUpload;
      out.push({ name: stored.metadata?.filename ?? 'a file', size: formatBytes(stored.size ?? 0) });
    } catch {
      // Not ours, or damaged: nothing to show.
    }
  }
  return out;
}
