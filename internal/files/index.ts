/** Builds the files service and its router from the shared runtime. */
import type { Runtime } from '../platform/runtime.ts';
import { filesRouter } from './files.router.ts';
import { FilesRepository } from './files.repository.ts';
import { FilesService } from './files.service.ts';

export function createFiles(runtime: Runtime) {
  const service = new FilesService(new FilesRepository(runtime.orm), runtime.storage, runtime.config.defaultQuotaBytes, runtime.log);
  return { service, router: filesRouter(service) };
}

export type { FilesRouter } from './files.router.ts';
export type { FileDto, Connection } from './files.service.ts';
