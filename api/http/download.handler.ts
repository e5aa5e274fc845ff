/**
 * GET|HEAD /files/{id}/content: the file's bytes, streamed from its backend.
 * - Who: the Bearer token's person, or — without a token — `?sig=` from `createDownloadLink`
 *   (internal/files/download-links.service.ts), so a browser's download manager can fetch and resume it.
 * - `Accept-Ranges: bytes`; `Range` → 206 with `Content-Range`; unsatisfiable → 416 with
 *   `Content-Range: bytes * /size` (RFC 9110 §15.5.17); range.ts parses.
 * - Validators: the strong, content-derived `ETag: "<contentHash>"` and `Last-Modified`;
 *   If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since and If-Range are decided by
 *   conditional.ts (RFC 9110 §13) → 304, 412, or whether the Range applies.
 * - `Content-Disposition: attachment` with the file's name (RFC 6266/8187, injection-safe);
 *   `?inline=1` asks for inline display.
 * - On a backend configured with `downloads: "redirect"`, a plain GET is answered with 302 to a
 *   presigned URL instead (download-redirect.ts says which requests).
 * - A big body whose backend connection can be taken (the S3 driver's lean GET) goes from that
 *   socket into the client's inside the kernel when the client is on plain HTTP/1.1 and the
 *   splice addon is there (splice-body.ts; DOWNLOAD_SPLICE); otherwise it streams through here.
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import express from 'express';
import type { Readable } from 'node:stream';
import { AppError } from '../../internal/platform/errors.ts';
import type { Logger } from '../../internal/platform/logger.ts';
import type { DownloadMeter, DownloadOutcome } from '../../internal/platform/metrics.ts';
import type { Splicer } from '../../internal/platform/splice.ts';
import { contentDisposition, type GetResult, type StorageRouter } from '../../internal/storage/index.ts';
import type { Clients } from '../clients.ts';
import { evaluateConditions, formatHttpDate } from './conditional.ts';
import { redirectedBytes, redirectTarget } from './download-redirect.ts';
import { parseRange } from './range.ts';
import { resumingBody } from './resuming-body.ts';
import { sendBody } from './send-body.ts';
import { spliceable, spliceFirst } from './spliced-download.ts';

export interface Content {
  name: string;
  size: number;
  mimeType: string | null;
  etag: string;
  backend: string;
  storageKey: string;
  /** Sent as Last-Modified and used by the date conditions (absent: they are ignored, §13.1.3). */
  lastModified?: Date;
}

/**
 * How a download is counted (stratus_downloads_total{mode,outcome}, stratus_download_bytes_total):
 * only GETs that send a body (or a redirect) are downloads; HEAD, 304, 412 and 416 are not.
 */
export interface Metered {
  meter?: DownloadMeter | undefined;
  mode: 'proxy' | 'share';
}

/** What every download route is given: how downloads are counted, and how their bodies move. */
export interface Downloading {
  meter?: DownloadMeter | undefined;
  /**
   * Present where the splice addon is built and not switched off (DOWNLOAD_SPLICE): a body whose
   * backend connection can be taken is then spliced into the client's socket (splice-body.ts).
   */
  splicer?: Splicer | null | undefined;
}

export interface SendOptions extends Partial<Metered>, Downloading {
  /** Called once the bytes of a GET were all sent, with whether they included the file's last byte. */
  onSent?: (endedFile: boolean) => Promise<void>;
}

const INLINE_SAFE = /^(image\/(png|jpeg|gif|webp|avif)|video\/[\w.+-]+|audio\/[\w.+-]+|application\/pdf|text\/plain)$/;

/** Sends stored bytes honouring the conditional and range headers. Shared by file and share downloads. */
export async function sendContent(
  req: Request,
  res: Response,
  storage: StorageRouter,
  content: Content,
  log: Logger,
  options: SendOptions = {},
): Promise<void> {
  const etag = `"${content.etag}"`;
  setContentHeaders(req, res, content, etag);
  const slice = answerConditions(req, res, content, etag);
  if (slice === 'answered') return;
  const length = slice ? slice.end - slice.start + 1 : content.size;
  res.status(slice ? 206 : 200);
  if (slice) res.setHeader('Content-Range', `bytes ${slice.start}-${slice.end}/${content.size}`);
  res.setHeader('Content-Length', String(length));
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  await sendBytes(res, storage, content, { slice, length, endsFile: !slice || slice.end === content.size - 1 }, log, options);
}

/** The body of a GET (the range decided): streamed from the backend, counted as one download. */
async function sendBytes(
  res: Response,
  storage: StorageRouter,
  content: Content,
  part: { slice: { start: number; end: number } | undefined; length: number; endsFile: boolean },
  log: Logger,
  options: SendOptions,
): Promise<void> {
  const count = (outcome: DownloadOutcome, bytes: number) => options.meter?.served(options.mode ?? 'proxy', outcome, bytes);
  if (part.length === 0) {
    res.end();
    count('ok', 0);
    await options.onSent?.(part.endsFile);
    return;
  }
  const start = part.slice?.start ?? 0;
  const end = part.slice?.end ?? content.size - 1;
  // The length lets the S3 driver read a big body over its lean socket (1 MiB reads), a small one
  // on the SDK's kept-alive connections.
  const get = (offset: number) =>
    storage.store(content.backend).get(content.storageKey, offset === 0 ? part.slice : { start: start + offset, end }, { expectedBytes: part.length - offset, pooled: true });
  let object = await get(0).catch((error: unknown) => {
    count('failed', 0);
    throw error;
  });
  let offset = 0;
  const splice = spliceable(res, object, options.splicer);
  if (splice) {
    const rest = await spliceFirst(res, splice.taken, splice.slot, object.etag, get, log, { ...options, endsFile: part.endsFile, count });
    if (rest === null) return;
    ({ object, offset } = rest);
  }
  await streamBytes(res, object, { length: part.length - offset, already: offset }, (at) => get(offset + at), log, { ...options, endsFile: part.endsFile, count });
}

/** The options of a GET's body, with how it ends the file and how it is counted. */
export type Counting = SendOptions & { endsFile: boolean; count: (outcome: DownloadOutcome, bytes: number) => void };

/** The body streamed through this process; a backend that breaks off mid-read is read again from where it stopped (resuming-body.ts). */
async function streamBytes(
  res: Response,
  object: GetResult,
  part: { length: number; already: number },
  reopen: (offset: number) => Promise<GetResult>,
  log: Logger,
  options: Counting,
): Promise<void> {
  const body = resumingBody(object, part.length, reopen);
  const tally = options.meter ? tallyStream(body, res) : null;
  try {
    // The S3 driver's pooled read buffers go back once the client's socket has taken each chunk.
    const release = object.release ?? (() => {});
    await sendBody(body, res, release);
    if (tally) options.count('ok', part.already + tally.bytes);
    await options.onSent?.(options.endsFile);
  } catch (error) {
    // The client went away mid-transfer, or the backend broke off: the response is already
    // under way, so all we can do is stop and say so in the log.
    if (tally) options.count(tally.backendFailed ? 'failed' : 'aborted', part.already + tally.bytes);
    if (!res.writableEnded) log.debug({ err: error }, 'download interrupted');
  }
}

/**
 * Counts the body's bytes as they pass, and tells a backend that broke off from a client that went
 * away: whichever happens first decides (the other side is then torn down by sendBody, and
 * its error is only the echo). Listeners are added before sendBody's, so they see it first.
 */
function tallyStream(body: Readable, res: Response): { bytes: number; backendFailed: boolean } {
  const tally = { bytes: 0, backendFailed: false };
  // The client may have gone while the object was being opened.
  let clientGone = res.destroyed;
  body.on('data', (data: Buffer) => {
    tally.bytes += data.length;
  });
  body.once('error', () => {
    if (!clientGone) tally.backendFailed = true;
  });
  res.once('close', () => {
    if (!res.writableFinished && !tally.backendFailed) clientGone = true;
  });
  return tally;
}

function setContentHeaders(req: Request, res: Response, content: Content, etag: string): void {
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', etag);
  res.setHeader('Cache-Control', 'private, no-cache');
  // Inline only for types a browser cannot run as our origin's script (no HTML, SVG, XML).
  const inline = req.query.inline === '1' && INLINE_SAFE.test(content.mimeType ?? '');
  res.setHeader('Content-Disposition', contentDisposition(content.name, inline ? 'inline' : 'attachment'));
  res.setHeader('Content-Type', content.mimeType ?? 'application/octet-stream');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (content.lastModified) res.setHeader('Last-Modified', formatHttpDate(content.lastModified));
}

/**
 * Decides the conditional and range headers: 'answered' when a 304, 412 or 416 went out; else the
 * byte range to send (undefined: the whole file).
 */
function answerConditions(req: Request, res: Response, content: Content, etag: string): { start: number; end: number } | undefined | 'answered' {
  const conditions = evaluateConditions(req.method, req.headers, { etag, lastModified: content.lastModified });
  if (conditions.outcome === 'not-modified') {
    res.status(304).end();
    return 'answered';
  }
  if (conditions.outcome === 'precondition-failed') {
    res.status(412).json({ error: { code: 'CONFLICT', message: 'Precondition failed', details: { reason: 'precondition_failed' } } });
    return 'answered';
  }
  const range = parseRange(conditions.range, content.size);
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${content.size}`);
    res.status(416).json({ error: { code: 'BAD_INPUT', message: 'Range not satisfiable', details: { reason: 'range_not_satisfiable', size: content.size } } });
    return 'answered';
  }
  return range.kind === 'single' ? range.range : undefined;
}

/**
 * A Bearer download's answer: the bytes (sendContent), or a 302 to a presigned backend URL where
 * the backend is configured for redirects (download-redirect.ts). The file's content and a file
 * version's content (version-download.handler.ts) both answer through here.
 */
export async function sendOrRedirect(req: Request, res: Response, storage: StorageRouter, content: Content, log: Logger, downloading: Downloading = {}): Promise<void> {
  const { meter } = downloading;
  const target = await redirectTarget(req, storage, content).catch((error: unknown) => {
    // Only a redirecting backend presigns: its failure is a failed redirect.
    meter?.served('redirect', 'failed', 0);
    throw error;
  });
  if (target === null) return sendContent(req, res, storage, content, log, { ...downloading, mode: 'proxy' });
  // The URL is a bearer credential for this object for a few minutes: no cache may keep it.
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.redirect(302, target);
  meter?.served('redirect', 'ok', redirectedBytes(req, content.size));
}

/** A signed link needs no token: the signature names the person (checked by the files service). */
export function signedOrBearer(auth: RequestHandler): RequestHandler {
  return (req, res, next) => (req.query.sig === undefined ? auth(req, res, next) : next());
}

/** `?sig=` as the service takes it (an array or object from a crafted query string fails its check), or undefined. */
export function signatureOf(req: Request): string | undefined {
  const sig = req.query.sig;
  return sig === undefined ? undefined : typeof sig === 'string' ? sig : '';
}

export function downloadRouter(clients: Clients, storage: StorageRouter, log: Logger, auth: RequestHandler, downloading: Downloading = {}): Router {
  const router = express.Router();
  const handler = async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const sig = signatureOf(req);
    const { file, blob } = sig === undefined ? await clients.files.content.query({ id }) : await clients.files.downloadLinks.content.query({ id, sig });
    if (!file.contentHash) throw new AppError('INTERNAL', 'file without content hash');
    const content: Content = {
      name: file.name, size: file.size, mimeType: file.mimeType, etag: file.contentHash, backend: blob.backend, storageKey: blob.storageKey,
      lastModified: new Date(file.updatedAt),
    };
    // A signed URL is a credential: never leak it to the pages a download might link to.
    if (sig !== undefined) res.setHeader('Referrer-Policy', 'no-referrer');
    await sendOrRedirect(req, res, storage, content, log, downloading);
  };
  router.get('/files/:id/content', signedOrBearer(auth), handler);
  router.head('/files/:id/content', signedOrBearer(auth), handler);
  return router;
}
