/** Builds the files service and its router from the shared runtime. */
import { createActivity } from '../activity/index.ts';
import type { Runtime } from '../platform/runtime.ts';
import { DownloadLinks } from './download-links.service.ts';
import { FilePropertiesRepository } from './file-properties.repository.ts';
import { FilePropertiesService } from './file-properties.service.ts';
import { DrivePaths } from './drive-paths.service.ts';
import { filesRouter } from './files.router.ts';
import { registerQuotaGauges } from './quota.gauges.ts';
import { FilesRepository } from './files.repository.ts';
import { FilesService } from './files.service.ts';
import { BatchCommits } from './batch-commit.service.ts';
import { BatchCommitsRepository } from './batch-commit.repository.ts';
import { SharesRepository } from './shares.repository.ts';
import { SharesService } from './shares.service.ts';
import { SearchRepository } from './search/search.repository.ts';
import { SearchService } from './search/search.service.ts';
import { createThumbnails } from '../thumbnails/index.ts';
import { VersionsRepository } from './versions/versions.repository.ts';
import { VersionsService } from './versions/versions.service.ts';
import { VersionSweeper } from './versions/versions.sweeper.ts';

export function createFiles(runtime: Runtime) {
  const repo = new FilesRepository(runtime.orm, runtime.config.defaultQuotaBytes, runtime.config.versions);
  const service = new FilesService(repo, runtime.storage, runtime.log);
  const shares = new SharesService(new SharesRepository(runtime.orm), repo, service, runtime.tokens, runtime.kv);
  const paths = new DrivePaths(repo, service);
  const properties = new FilePropertiesService(new FilePropertiesRepository(runtime.orm), repo);
  // The activity log's reads and retention sweep run with the files service, whose writes record most events.
  const activity = createActivity(runtime, async (ownerId, fileId) => (await repo.findAny(ownerId, fileId)) !== null);
  // Thumbnails of images: queued when a new blob is recorded, made by this service's worker.
  const thumbnails = createThumbnails(runtime, service);
  service.contentRecorded = (file) => thumbnails.service.requested(file);
  registerQuotaGauges(runtime);
  const versions = new VersionsService(new VersionsRepository(runtime.orm, runtime.config.versions), repo, runtime.storage, runtime.log, runtime.config.versions.maxAgeDays);
  const links = new DownloadLinks(runtime.config.jwtSecret, { content: (viewer, id) => service.content(viewer, id), versionContent: (viewer, id, versionId) => versions.content(viewer, id, versionId) });
  // Age-limited retention also needs a sweep: a file nobody changes adds no version to prune on.
  if (runtime.config.versions.maxAgeDays > 0) {
    const sweeper = new VersionSweeper(versions, runtime.log);
    sweeper.start();
    runtime.onClose(() => sweeper.stop());
  }
  return { service, shares, versions, thumbnails, router: filesRouter(service, shares, links, paths, properties, versions, new SearchService(new SearchRepository(runtime.orm)), thumbnails.router, activity.router, new BatchCommits(new BatchCommitsRepository(runtime.orm, runtime.config.defaultQuotaBytes), service)) };
}

export * from './shared.ts';
export { BlobWriter, SPOOL_MAX_AGE_MS } from './blobs.writer.ts';
export { MAX_DEPTH, MAX_PAGE } from './files.service.ts';
export { assertQueryLength as assertSearchQueryLength } from './search/search.service.ts';
export type { FilesRouter } from './files.router.ts';
export { UPLOAD_FILES_MAX } from './batch-commit.router.ts';
export type { BatchFileInput, BatchTarget, NameCheck } from './batch-commit.service.ts';
export { refusalOf as propertyRefusal, type DeadProperty as StoredProperty, type PropertyChange } from './file-properties.service.ts';
export type { ChildPage, ResolvedPath } from './drive-paths.service.ts';
export type { BlobDto, BlobLocation, Connection, ContentDto, FileDto, QuotaDto } from './files.dto.ts';
export type { VersionDto } from './versions/versions.service.ts';
export type { OpenedShareDto, ShareDto } from './shares.dto.ts';
