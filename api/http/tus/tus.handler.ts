/**
 * tus 1.0.0 (https://tus.io/protocols/resumable-upload) with creation, creation-with-upload,
 * termination, expiration and checksum: OPTIONS, POST, HEAD, PATCH, DELETE. Thin: the principal
 * comes from the mount's resolver (tus.principal.ts), the rules from internal/uploads/tus, the
 * bytes go through writeTusPatch into the upload session, errors through tus.errors.ts.
 *
 * Mounted as `/tus` (Bearer) and `/drop/:token/tus` (a file-drop link): Location is built from
 * req.baseUrl, so one router serves both. A tus upload is an upload session: listed by
 * `uploads`, followed by `uploadProgress`, resumable from any replica, swept when idle.
 *
 * CORS: the web app is served from the API's own origin and Stratus sends no
 * Access-Control-Allow-Origin anywhere (a cross-origin page gets nothing); the exposed headers are
 * listed anyway so a deployment whose proxy adds an allow-origin for a trusted origin works with
 * browser tus clients, which must read Location, Upload-Offset and the Tus-* headers.
 */
import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../../../internal/platform/errors.ts';
import type { Logger } from '../../../internal/platform/logger.ts';
import type { UploadMeter } from '../../../internal/platform/metrics.ts';
import type { StorageRouter } from '../../../internal/storage/index.ts';
import { tusRules, writeTusPatch, type TusUploadState } from '../../../internal/uploads/index.ts';
import type { Clients } from '../../clients.ts';
import { requireScope, scopesOf } from '../auth.ts';
import { sendTusError } from './tus.errors.ts';
import type { ResolveTusPrincipal, TusPrincipal } from './tus.principal.ts';

const { TUS_VERSION, TUS_CONTENT_TYPE } = tusRules;

export interface TusDeps {
  clients: Clients;
  storage: StorageRouter;
  log: Logger;
  /** The process's upload metrics (each PATCH's parts). */
  uploadMeter?: UploadMeter;
}

export interface TusOptions {
  resolve: ResolveTusPrincipal;
  /** POST, PATCH and DELETE need the WRITE scope of a personal access token (/tus/). */
  writeScope?: boolean;
}

interface TusRequest {
  req: Request;
  res: Response;
  deps: TusDeps;
  principal: TusPrincipal;
  /** The upload's id (the path's last segment), null at the creation URL. */
  id: string | null;
}

type TusMethod = (ctx: TusRequest) => Promise<void>;

const METHODS: Readonly<Record<string, TusMethod>> = { POST: post, HEAD: head, PATCH: patch, DELETE: terminate };
const WRITES = new Set(['POST', 'PATCH', 'DELETE']);
const EXPOSED = ['Location', 'Upload-Offset', 'Upload-Length', 'Upload-Metadata', 'Upload-Expires', 'Tus-Resumable', 'Tus-Version', 'Tus-Extension', 'Tus-Max-Size', 'Tus-Checksum-Algorithm'];

export function tusRouter(deps: TusDeps, options: TusOptions): Router {
  const router = express.Router();
  router.use((req, res) => void dispatch(req, res, deps, options));
  return router;
}

async function dispatch(req: Request, res: Response, deps: TusDeps, options: TusOptions): Promise<void> {
  // "The actual method of the request MUST be ignored" when X-HTTP-Method-Override names one.
  const method = (req.get('x-http-method-override') ?? req.method).toUpperCase();
  res.setHeader('Tus-Resumable', TUS_VERSION);
  res.setHeader('Access-Control-Expose-Headers', EXPOSED.join(', '));
  try {
    const id = idOf(req.path);
    if (method === 'OPTIONS') return options_(res);
    const handler = METHODS[method];
    if (!handler || (method === 'POST') !== (id === null)) return notAllowed(res, id);
    // "If the the version specified by the Client is not supported by the Server, it MUST respond
    // with the 412 Precondition Failed status ... the Server MUST NOT process the request."
    tusRules.assertTusResumable(req.get('tus-resumable'));
    const principal = await options.resolve(req);
    if (options.writeScope && WRITES.has(method)) requireScope({ scopes: scopesOf(principal.viewer) }, 'WRITE');
    await handler({ req, res, deps, principal, id });
  } catch (error) {
    sendTusError(res, error, deps.log);
  }
}

/** `/` (the creation URL) or `/<id>`; anything deeper is no upload of ours. */
function idOf(path: string): string | null {
  if (path === '/' || path === '') return null;
  const match = /^\/([A-Za-z0-9-]{1,64})\/?$/.exec(path);
  if (!match?.[1]) throw new AppError('NOT_FOUND', 'No such upload');
  return match[1];
}

/** OPTIONS: "MUST contain the Tus-Version header. It MAY include the Tus-Extension and Tus-Max-Size headers"; no credentials needed. */
function options_(res: Response): void {
  res.setHeader('Tus-Version', TUS_VERSION);
  res.setHeader('Tus-Extension', tusRules.TUS_EXTENSIONS.join(','));
  res.setHeader('Tus-Max-Size', String(tusRules.TUS_MAX_SIZE));
  // "The Tus-Checksum-Algorithm header MUST be included in the response to an OPTIONS request."
  res.setHeader('Tus-Checksum-Algorithm', tusRules.TUS_CHECKSUM_ALGORITHMS.join(','));
  res.status(204).end();
}

function notAllowed(res: Response, id: string | null): void {
  res.setHeader('Allow', id === null ? 'OPTIONS, POST' : 'OPTIONS, HEAD, PATCH, DELETE');
  res.status(405).type('text/plain; charset=utf-8').send('method_not_allowed: Not a tus method for this URL\n');
}

function uploadHeaders(res: Response, state: TusUploadState): void {
  res.setHeader('Upload-Offset', String(state.offset));
  res.setHeader('Upload-Length', String(state.size));
  // "This header MUST be included in every PATCH response if the upload is going to expire."
  if (state.status !== 'COMPLETED') res.setHeader('Upload-Expires', tusRules.httpDate(new Date(state.expiresAt)));
}

/** A request body is there (creation-with-upload), whatever its framing. */
function hasBody(req: Request): boolean {
  const length = req.get('content-length');
  return length !== undefined ? length !== '0' : req.get('transfer-encoding') !== undefined;
}

function assertOctetStream(req: Request): void {
  if ((req.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() !== TUS_CONTENT_TYPE) {
    throw new AppError('BAD_INPUT', `Send the bytes as Content-Type: ${TUS_CONTENT_TYPE}`, { details: { field: 'Content-Type', reason: 'content_type' } });
  }
}

/** Creation (+ creation-with-upload): 201 with Location, Upload-Offset and Upload-Expires. */
async function post({ req, res, deps, principal }: TusRequest): Promise<void> {
  if (req.get('upload-defer-length') !== undefined) {
    throw new AppError('BAD_INPUT', 'Upload-Defer-Length is not supported: send Upload-Length', { details: { field: 'Upload-Defer-Length', reason: 'size_invalid' } });
  }
  const size = tusRules.parseNonNegative('Upload-Length', req.get('upload-length'));
  if (size === null) throw new AppError('BAD_INPUT', 'Send Upload-Length', { details: { field: 'Upload-Length', reason: 'size_invalid' } });
  const withBody = hasBody(req);
  if (withBody) assertOctetStream(req);
  const raw = req.get('upload-metadata') ?? '';
  const target = tusRules.targetOf(tusRules.parseMetadata(raw), principal.folderId);
  const created = await deps.clients.uploads.tus.create.mutate({ ...target, size, uploadLinkId: principal.uploadLinkId, metadata: raw });
  res.setHeader('Location', `${req.baseUrl}/${created.id}`);
  let state: TusUploadState = created;
  if (withBody && size > 0) state = await createWithUpload(req, deps, principal, created);
  else req.resume();
  uploadHeaders(res, state);
  res.status(201).end();
}

/**
 * "The Server SHOULD accept as many bytes as possible and MUST include the Upload-Offset header
 * in the response": the upload exists whatever happens to the body, so the answer is 201 with
 * the offset reached (a client resumes from there), not the body's error.
 */
async function createWithUpload(req: Request, deps: TusDeps, principal: TusPrincipal, created: TusUploadState): Promise<TusUploadState> {
  try {
    await writeBody(req, deps, principal, created.id, 0);
  } catch (error) {
    deps.log.debug({ err: error, upload: created.id }, 'tus creation-with-upload body not taken whole');
    if (!req.complete) req.resume();
  }
  return deps.clients.uploads.tus.get.query({ id: created.id, uploadLinkId: principal.uploadLinkId });
}

function writeBody(req: Request, deps: TusDeps, principal: TusPrincipal, id: string, offset: number) {
  const length = tusRules.parseNonNegative('Content-Length', req.get('content-length'));
  const checksum = tusRules.parseChecksum(req.get('upload-checksum'));
  return writeTusPatch(deps.clients, deps.storage, { id, uploadLinkId: principal.uploadLinkId, offset, body: req, length, checksum }, deps.uploadMeter);
}

/** HEAD: the offset ("MUST always include the Upload-Offset header"), length, metadata; never cached. */
async function head({ res, deps, principal, id }: TusRequest): Promise<void> {
  const state = await deps.clients.uploads.tus.get.query({ id: id ?? '', uploadLinkId: principal.uploadLinkId });
  assertLive(state);
  res.setHeader('Cache-Control', 'no-store');
  uploadHeaders(res, state);
  if (state.metadata) res.setHeader('Upload-Metadata', state.metadata);
  res.status(200).end();
}

/** An expired (or failed) upload is gone for tus: 410 (tus.errors.ts). */
function assertLive(state: TusUploadState): void {
  if (state.status === 'EXPIRED' || state.status === 'FAILED' || state.status === 'CANCELLED') {
    const status = state.status.toLowerCase() as 'expired' | 'failed' | 'cancelled';
    throw new AppError('CONFLICT', `The upload is ${status}; start a new one`, { details: { reason: `session_${status}` } });
  }
}

/** PATCH: 204 with the new Upload-Offset (and Upload-Expires while the upload is unfinished). */
async function patch({ req, res, deps, principal, id }: TusRequest): Promise<void> {
  assertOctetStream(req);
  const offset = tusRules.parseNonNegative('Upload-Offset', req.get('upload-offset'));
  if (offset === null) throw new AppError('BAD_INPUT', 'Send Upload-Offset', { details: { field: 'Upload-Offset', reason: 'offset_invalid' } });
  const result = await writeBody(req, deps, principal, id ?? '', offset);
  res.setHeader('Upload-Offset', String(result.offset));
  if (!result.completed) res.setHeader('Upload-Expires', tusRules.httpDate(new Date(result.expiresAt)));
  res.status(204).end();
}

/** Termination: "the Server SHOULD free associated resources and MUST respond with the 204 No Content status". */
async function terminate({ res, deps, principal, id }: TusRequest): Promise<void> {
  await deps.clients.uploads.tus.terminate.mutate({ id: id ?? '', uploadLinkId: principal.uploadLinkId });
  res.status(204).end();
}
