/**
 * The files side of uploadFiles (several small files in one request): where the batch goes — the
 * folder, the quota, and which of its names are taken, in two statements whatever the batch's size —
 * and the batch's files recorded in one transaction (FilesRepository.commitFiles). A file of a
 * drive is most often small, and for a small file the per-file statements and the transaction's
 * commit, not its bytes, were most of what it cost (issue 21: 8.5 SQL statements per file).
 */
import { eventBy } from '../activity/index.ts';
import { AppError, type ErrorReason } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { locationOf, toFileDto, type BlobLocation, type FileDto, type QuotaDto } from './files.dto.ts';
import type { BatchCommitsRepository } from './batch-commit.repository.ts';
import { notAFolder, type FilesService, type StoredBytes } from './files.service.ts';
import { nameKey, normalizeName } from './names.ts';

/** One name of the batch: normalized and whether it is taken, or why it cannot be a name (BAD_INPUT, field name). */
export type NameCheck = { name: string; taken: boolean } | { refused: { message: string; reason?: ErrorReason } };

export interface BatchTarget extends QuotaDto {
  parentId: string;
  parentPath: string;
  /** In the order asked. */
  names: NameCheck[];
}

/** One stored file of the batch: the fields of commitFile's StoredBytes that a batch's files do not share. */
export type BatchFileInput = Pick<StoredBytes, 'name' | 'size' | 'contentHash' | 'mimeType' | 'backend' | 'storageKey'>;

export class BatchCommits {
  constructor(
    private readonly repo: BatchCommitsRepository,
    private readonly files: FilesService,
  ) {}

  /**
   * The folder (NOT_FOUND, not_a_folder), the quota, and each name checked. A name that an
   * earlier name of the batch has (the same name key) counts as taken: that file takes it first.
   */
  async uploadTargets(viewer: Viewer, parentId: string | null, rawNames: readonly string[]): Promise<BatchTarget> {
    const checked = rawNames.map(check);
    const keys = [...new Set(checked.flatMap((c) => ('key' in c ? [c.key] : [])))];
    const folderId = parentId ?? viewer.userId;
    const read = await this.repo.uploadTargets(viewer.userId, folderId, keys);
    let target: Omit<BatchTarget, 'names'> & { taken: Set<string> };
    if (read) {
      if (!read.isFolder) throw notAFolder();
      target = { parentId: folderId, parentPath: read.path, used: read.used, limit: read.limit, taken: read.taken };
    } else {
      // No row read: the usual reads answer (NOT_FOUND) or repair (a drive without its rows).
      const parent = await this.files.folderRow(viewer, parentId);
      const taken = await this.repo.takenKeys(viewer.userId, parent.id, keys);
      target = { parentId: parent.id, parentPath: parent.path, ...(await this.files.quota(viewer)), taken };
    }
    const seen = new Set<string>();
    const names = checked.map((c): NameCheck => {
      if (!('key' in c)) return c;
      const taken = target.taken.has(c.key) || seen.has(c.key);
      seen.add(c.key);
      return { name: c.name, taken };
    });
    const { taken: _taken, ...rest } = target;
    return { ...rest, names };
  }

  /**
   * The batch's stored files as files of the folder, in one transaction (all or nothing: a name
   * taken meanwhile is CONFLICT name_taken, a quota that no longer fits QUOTA_EXCEEDED, and then
   * nothing is recorded). `duplicate` names a file's just-written bytes when the same content was
   * stored already (the file shares that blob; the caller deletes them).
   */
  async commitFiles(viewer: Viewer, input: { parentId: string; parentPath: string; files: BatchFileInput[] }): Promise<{ file: FileDto; duplicate: BlobLocation | null }[]> {
    const rows = (parentId: string) =>
      input.files.map((f) => {
        const name = normalizeName(f.name);
        return { ownerId: viewer.userId, parentId, name, nameKey: nameKey(name), size: f.size, contentHash: f.contentHash, mimeType: f.mimeType, location: locationOf(f) };
      });
    const event = eventBy(viewer, 'UPLOADED');
    let committed = await this.repo.commitFiles(rows(input.parentId), input.parentPath, { guardParent: true, event });
    if (!committed) {
      // The folder moved, went or is not the viewer's since it was read: read it now.
      const parent = await this.files.folderRow(viewer, input.parentId);
      committed = await this.repo.commitFiles(rows(parent.id), parent.path, { event });
    }
    if (!committed) throw new Error('commitFiles without a parent guard always commits or throws');
    return committed.map(({ row, blob }, i) => {
      const stored = input.files[i] as BatchFileInput;
      const file = toFileDto(row);
      const duplicate = blob.storageKey !== stored.storageKey || blob.backend !== stored.backend ? locationOf(stored) : null;
      if (duplicate === null) this.files.contentRecorded?.(file);
      return { file, duplicate };
    });
  }
}

function check(raw: string): { name: string; key: string } | { refused: { message: string; reason?: ErrorReason } } {
  try {
    const name = normalizeName(raw);
    return { name, key: nameKey(name) };
  } catch (error) {
    if (!AppError.is(error, 'BAD_INPUT')) throw error;
    const reason = error.details?.reason;
    return { refused: { message: error.message, ...(reason ? { reason } : {}) } };
  }
}
