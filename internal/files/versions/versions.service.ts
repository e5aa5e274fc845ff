/**
 * A file's older contents (issue 22): list them, download one, restore one (the current content
 * becomes a version), delete one; and the periodic age sweep (VERSIONS_MAX_AGE_DAYS). Versions
 * are made where content is replaced (files.repository.ts replaceContent: WebDAV PUT, an upload
 * with conflict NEW_VERSION, the CLI's --overwrite). Scoped to the viewer: another person's file
 * or version, a version of another file, or an id that is no version answer NOT_FOUND alike.
 */
import { eventBy } from '../../activity/index.ts';
import { AppError } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import type { Viewer } from '../../platform/request-context.ts';
import { toBlobDto, toFileDto, type BlobDto, type BlobLocation, type FileDto } from '../files.dto.ts';
import type { FileRow } from '../files.entities.ts';
import type { FilesRepository } from '../files.repository.ts';
import type { BlobStores } from '../files.service.ts';
import type { FileVersionRow } from './versions.entities.ts';
import type { VersionsRepository } from './versions.repository.ts';

export interface VersionDto {
  id: string;
  fileId: string;
  size: number;
  contentHash: string;
  mimeType: string | null;
  createdAt: string;
}

export interface VersionContentDto {
  file: FileDto;
  version: VersionDto;
  blob: BlobDto;
}

const DAY_MS = 86_400_000;

function toVersionDto(row: FileVersionRow): VersionDto {
  return { id: row.id, fileId: row.fileId, size: Number(row.size), contentHash: row.contentHash, mimeType: row.mimeType, createdAt: row.createdAt.toISOString() };
}

const noVersion = () => new AppError('NOT_FOUND', 'No such version of this file');

export class VersionsService {
  constructor(
    private readonly repo: VersionsRepository,
    private readonly files: FilesRepository,
    private readonly stores: BlobStores,
    private readonly log: Logger,
    private readonly maxAgeDays: number,
  ) {}

  /** The versions of each file, newest first (a folder's, another person's or an unknown id's: none). */
  async listMany(viewer: Viewer, fileIds: readonly string[]): Promise<VersionDto[][]> {
    const rows = fileIds.length === 0 ? [] : await this.repo.listMany(viewer.userId, fileIds);
    const byFile = new Map<string, VersionDto[]>();
    for (const row of rows) byFile.set(row.fileId, [...(byFile.get(row.fileId) ?? []), toVersionDto(row)]);
    return fileIds.map((id) => byFile.get(id) ?? []);
  }

  /** What a version download needs: the file (its name), the version and where its bytes are. */
  async content(viewer: Viewer, fileId: string, versionId: string): Promise<VersionContentDto> {
    const { file, version } = await this.load(viewer, fileId, versionId);
    const blob = await this.files.findBlobById(version.blobId);
    if (!blob) throw new AppError('INTERNAL', `version ${version.id} points at missing blob ${version.blobId}`);
    return { file: toFileDto(file), version: toVersionDto(version), blob: toBlobDto(blob) };
  }

  /** The version becomes the current content (same file id); the current content becomes a version. */
  async restore(viewer: Viewer, fileId: string, versionId: string): Promise<FileDto> {
    const { file, version } = await this.load(viewer, fileId, versionId);
    // A restore adds a version too (the content it replaces): the owner's activity says so.
    const { row, freed } = await this.repo.restore(file, version, { ...eventBy(viewer, 'VERSION_ADDED', file), detail: 'restored' });
    await this.deleteBytes(freed);
    return toFileDto(row);
  }

  /** Deletes a version: its share of the quota comes back, its bytes go when nothing else uses them. */
  async delete(viewer: Viewer, fileId: string, versionId: string): Promise<boolean> {
    const { version } = await this.load(viewer, fileId, versionId);
    await this.deleteBytes(await this.repo.remove(version));
    return true;
  }

  /** Drops every version older than VERSIONS_MAX_AGE_DAYS (nothing when 0); returns how many went. */
  async sweep(now = new Date()): Promise<number> {
    if (this.maxAgeDays <= 0) return 0;
    const cutoff = new Date(now.getTime() - this.maxAgeDays * DAY_MS);
    let total = 0;
    for (;;) {
      const { count, freed } = await this.repo.sweepBatch(cutoff);
      await this.deleteBytes(freed);
      total += count;
      if (count === 0) return total;
    }
  }

  private async load(viewer: Viewer, fileId: string, versionId: string): Promise<{ file: FileRow; version: FileVersionRow }> {
    const file = await this.files.findLive(viewer.userId, fileId);
    if (!file) throw new AppError('NOT_FOUND', 'No such file or folder');
    const version = file.isFolder ? null : await this.repo.find(viewer.userId, fileId, versionId);
    if (!version) throw noVersion();
    return { file, version };
  }

  /** Bytes go only after the rows are gone for good; a failure leaves an orphan object for fsck. */
  private async deleteBytes(blobs: readonly BlobLocation[]): Promise<void> {
    for (const blob of blobs) {
      await this.stores.store(blob.backend).delete(blob.storageKey).catch((error: unknown) => this.log.warn({ err: error, key: blob.storageKey }, 'version bytes not deleted'));
    }
  }
}
