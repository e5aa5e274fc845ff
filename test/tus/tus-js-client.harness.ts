/**
 * What the tus-js-client tests share: the real client (tus-js-client 4 in Node, the same build
 * Uppy and CLI tools use) driven against an endpoint with `Authorization: Bearer`, wrapped in
 * promises; raw HEAD to read the server's offset; the drive's view of the result through GraphQL.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { Upload, type HttpRequest, type UploadOptions } from 'tus-js-client';
import { fileContentHash } from '../../cli/lib/hash.ts';
import { gql } from '../support/graphql.ts';

export const MiB = 1024 * 1024;
export const TUS = { 'Tus-Resumable': '1.0.0' };

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

export interface Sent {
  url: string;
  /** The Upload-Offset of every PATCH the client sent, in order. */
  patchOffsets: number[];
  /** The highest byte count the client reported as sent. */
  bytesSent: number;
  /** `METHOD status` of every answer the client got, in order. */
  answers: string[];
}

export interface RunOptions extends Partial<UploadOptions> {
  token: string;
  file: string;
  size: number;
  /** Called on every progress event; `abort` stops the upload (`true`: and terminates it, DELETE). */
  progress?: (bytesSent: number, abort: (terminate?: boolean) => void) => void;
}

type TusError = Error & { originalResponse?: { getStatus(): number } | null };

/** Outcome of one tus-js-client run: it succeeded, failed (the error), or was aborted by `progress`. */
export type Outcome = { kind: 'success'; sent: Sent } | { kind: 'error'; error: TusError; sent: Sent } | { kind: 'aborted'; sent: Sent };

/**
 * One run of a NEW Upload object (nothing shared with an earlier one: fingerprint storage off, no
 * retries unless asked), resolving on success, on error, or once `progress` aborted it and the
 * abort's own request (the DELETE of `abort(true)`) is done.
 */
export function runUpload({ token, file, size, progress, headers, onBeforeRequest, onAfterResponse, ...options }: RunOptions): Promise<Outcome> {
  const sent: Sent = { url: '', patchOffsets: [], bytesSent: 0, answers: [] };
  return new Promise((resolve) => {
    let aborted = false;
    const done = (outcome: Outcome) => resolve({ ...outcome, sent: { ...sent, url: upload.url ?? sent.url } });
    const abort = (terminate?: boolean) => {
      if (aborted) return;
      aborted = true;
      sent.url = upload.url ?? sent.url;
      upload.abort(terminate).then(
        () => done({ kind: 'aborted', sent }),
        (error: unknown) => done({ kind: 'error', error: error as TusError, sent }),
      );
    };
    const upload: Upload = new Upload(createReadStream(file), {
      uploadSize: size,
      storeFingerprintForResuming: false,
      removeFingerprintOnSuccess: false,
      retryDelays: null,
      ...options,
      headers: { ...headers, ...bearer(token) },
      onBeforeRequest: async (req: HttpRequest) => {
        if (req.getMethod() === 'PATCH') sent.patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        await onBeforeRequest?.(req);
      },
      onAfterResponse: async (req, res) => {
        sent.answers.push(`${req.getMethod()} ${res.getStatus()}`);
        await onAfterResponse?.(req, res);
      },
      onProgress: (bytesSent) => {
        if (aborted) return;
        sent.bytesSent = Math.max(sent.bytesSent, bytesSent);
        progress?.(bytesSent, abort);
      },
      onSuccess: () => done({ kind: 'success', sent }),
      onError: (error) => {
        if (!aborted) done({ kind: 'error', error: error as TusError, sent });
      },
    });
    upload.start();
  });
}

export function statusOf(outcome: Outcome): number | undefined {
  return outcome.kind === 'error' ? outcome.error.originalResponse?.getStatus() : undefined;
}

/** HEAD on an upload URL as any tus client sends it: status and Upload-Offset / Upload-Length. */
export async function head(url: string, token: string): Promise<{ status: number; offset: number; length: number }> {
  const res = await fetch(url, { method: 'HEAD', headers: { ...TUS, ...bearer(token) } });
  return { status: res.status, offset: Number(res.headers.get('upload-offset') ?? Number.NaN), length: Number(res.headers.get('upload-length') ?? Number.NaN) };
}

/** `algorithm <base64 digest>` of a slice of the file, as the checksum extension's Upload-Checksum. */
export async function sliceChecksum(file: string, algorithm: 'sha1' | 'sha256', start: number, end: number): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(file, { start, end: end - 1 })) hash.update(chunk as Buffer);
  return `${algorithm} ${hash.digest('base64')}`;
}

/** Reads a few bytes of the file (to check the stored content is this file's, not shifted). */
export async function readBytes(file: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, start);
    return buffer;
  } finally {
    await handle.close();
  }
}

export const localContentHash = (file: string, size: number) => fileContentHash(file, size);

export interface DriveFile {
  id: string;
  name: string;
  size: number;
  contentHash: string | null;
  mimeType: string | null;
  parentId: string | null;
}

/** The files named `name` in a folder (the root when null), as the owner sees them. */
export async function filesNamed(url: string, token: string, name: string, folderId: string | null = null): Promise<DriveFile[]> {
  const res = await gql<{ folder: { children: { edges: { node: DriveFile }[] } } }>(
    url,
    'query($id: ID) { folder(id: $id) { children(first: 500) { edges { node { id name size contentHash mimeType parentId } } } } }',
    { id: folderId },
    token,
  );
  if (!res.data) throw new Error(`folder query failed: ${JSON.stringify(res.errors)}`);
  return res.data.folder.children.edges.map((e) => e.node).filter((f) => f.name === name);
}

/** The ids of the person's unfinished upload sessions (the `uploads` query). */
export async function uploadIds(url: string, token: string): Promise<string[]> {
  const res = await gql<{ uploads: { id: string }[] }>(url, '{ uploads { id } }', {}, token);
  if (!res.data) throw new Error(`uploads query failed: ${JSON.stringify(res.errors)}`);
  return res.data.uploads.map((u) => u.id);
}

/** A personal access token (`stp_…`) with READ and WRITE, made from a sign-in session. */
export async function personalAccessToken(url: string, token: string): Promise<string> {
  const res = await gql<{ createAccessToken: { token: string } }>(
    url,
    'mutation($i: CreateAccessTokenInput!) { createAccessToken(input: $i) { token } }',
    { i: { name: 'tus-js-client', scopes: ['WRITE'] } },
    token,
  );
  if (!res.data) throw new Error(`createAccessToken failed: ${JSON.stringify(res.errors)}`);
  return res.data.createAccessToken.token;
}
