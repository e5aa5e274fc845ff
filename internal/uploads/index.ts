/**
 * Builds the uploads service (sessions, chunks, completion, sweeper) from the shared runtime, and
 * the gateway's byte path into it (writeChunk: one chunk streamed into the backend's multipart).
 */
import type { TRPCClient } from '@trpc/client';
import type { FilesRouter } from '../files/index.ts';
import type { Runtime } from '../platform/runtime.ts';
import { ChunkReceipts } from './chunk-receipts.repository.ts';
import { ChunksService } from './chunks.service.ts';
import { CompletionService } from './completion.service.ts';
import { filesPort } from './files.port.ts';
import { IDLE_TTL_MS, SessionCore } from './session.core.ts';
import { UploadSweeper } from './sweeper.job.ts';
import { uploadsRouter } from './uploads.router.ts';
import { UploadsRepository } from './uploads.repository.ts';
import { UploadsService } from './uploads.service.ts';

export function createUploads(runtime: Runtime, files: TRPCClient<FilesRouter>, options: { sweepIntervalMs?: number } = {}) {
  const core = new SessionCore(new UploadsRepository(runtime.orm), new ChunkReceipts(runtime.kv, IDLE_TTL_MS), runtime.pubsub, runtime.storage);
  const port = filesPort(files);
  const uploads = new UploadsService(core, port);
  const chunks = new ChunksService(core);
  const completion = new CompletionService(core, port, runtime.kv);
  const sweeper = new UploadSweeper(core, runtime.log);
  sweeper.start(options.sweepIntervalMs);
  runtime.onClose(() => sweeper.stop());
  return { uploads, chunks, completion, sweeper, core, router: uploadsRouter(uploads, chunks, completion) };
}

export type { UploadsRouter } from './uploads.router.ts';
export type { UploadSessionDto } from './session.core.ts';
export { progressEvents, type UploadProgress } from './progress.channel.ts';
/** Limits clients and the gateway size their requests by. */
export { MAX_BLOCK_HASHES, MAX_CHUNK_SIZE, PROOF_RANGES } from './upload-plan.rules.ts';
export { writeChunk, type ChunkResult, type ChunkWrite, type UploadsClients } from './chunks.writer.ts';
