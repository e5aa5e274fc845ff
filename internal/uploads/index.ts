/**
 * Builds the uploads service (sessions, chunks, completion, sweeper) from the shared runtime, and
 * the gateway's byte paths into it: writeChunk (one chunk streamed into a session's multipart
 * upload) and writeSimpleUpload (a whole file in one body), both ending in commitUpload.
 */
import type { TRPCClient } from '@trpc/client';
import type { FilesRouter } from '../files/index.ts';
import type { Runtime } from '../platform/runtime.ts';
import { ChunkReceipts } from './chunk-receipts.repository.ts';
import { ChunksService } from './chunks.service.ts';
import { CompletionService } from './completion.service.ts';
import { filesPort } from './files.port.ts';
import { IDLE_TTL_MS, SessionCore, type UploadsDeps } from './session.core.ts';
import { UploadSweeper } from './sweeper.job.ts';
import { registerUploadGauges } from './uploads.gauges.ts';
import { uploadsRouter } from './uploads.router.ts';
import { UploadsRepository } from './uploads.repository.ts';
import { UploadsService } from './uploads.service.ts';
import { createUploadLinks } from './upload-links/index.ts';
import { TusStateRepository } from './tus/tus-state.repository.ts';
import { TusService } from './tus/tus.service.ts';

export function createUploads(runtime: Runtime, files: TRPCClient<FilesRouter>, options: { sweepIntervalMs?: number } = {}) {
  const deps: UploadsDeps = { sessions: new UploadsRepository(runtime.orm), receipts: new ChunkReceipts(runtime.kv, IDLE_TTL_MS), storage: runtime.storage };
  const core = new SessionCore(deps.sessions, deps.receipts, runtime.pubsub, deps.storage);
  const port = filesPort(files);
  const links = createUploadLinks(runtime, files, port);
  deps.links = links.port;
  // Whatever ends a drop's session without a file gives its reservation back to the link.
  core.onEndedUncommitted(async (row) => {
    if (!row.uploadLinkId) return;
    await links.port.release(row.id).catch((error: unknown) => runtime.log.warn({ err: error, session: row.id }, 'releasing an upload link reservation failed'));
  });
  const uploads = new UploadsService(core, deps, port);
  const chunks = new ChunksService(core, deps);
  const completion = new CompletionService(core, deps, port, runtime.kv, runtime.metrics.uploads);
  const sweeper = new UploadSweeper(core, deps, runtime.log);
  const tus = new TusService(core, deps, uploads, port, new TusStateRepository(runtime.kv, IDLE_TTL_MS));
  registerUploadGauges(runtime, deps.sessions);
  sweeper.start(options.sweepIntervalMs);
  runtime.onClose(() => sweeper.stop());
  return { uploads, chunks, completion, sweeper, links: links.service, router: uploadsRouter(uploads, chunks, completion, tus, links.router) };
}

export type { UploadsRouter } from './uploads.router.ts';
export type { UploadSessionDto } from './session.core.ts';
export { progressEvents, type UploadProgress } from './progress.channel.ts';
/** Limits clients and the gateway size their requests by. */
export { MAX_BLOCK_HASHES, MAX_CHUNK_SIZE, PROOF_RANGES } from './upload-plan.rules.ts';
export { writeSimpleUpload, type SimpleUpload, type SimpleUploadPorts } from './simple-upload.writer.ts';
export { writeBatchUpload, type BatchFile, type BatchOutcome, type BatchUpload } from './batch-upload.writer.ts';
export { writeStreamedUpload, type StreamedResult, type StreamedUpload } from './streamed-upload.writer.ts';
export { commitUpload, type CommitOptions, type StoredUpload } from './upload-commit.service.ts';
export { writeChunk, type ChunkResult, type ChunkWrite, type UploadsClients } from './chunks.writer.ts';
export { writeTusPatch, type TusPatch, type TusPatchResult } from './tus/tus-patch.writer.ts';
export type { TusUploadState } from './tus/tus.service.ts';
export * as tusRules from './tus/tus.rules.ts';
export { uploadLinkArrivals, type UploadLinkArrivalDto } from './upload-links/upload-link-activity.channel.ts';
export { MAX_ARRIVALS_LISTED, UPLOAD_LINKS_LISTED } from './upload-links/upload-links.rules.ts';
export type { DropPrincipalDto, UploadLinkDto } from './upload-links/upload-links.dto.ts';
