/**
 * New content for an existing file, in place (WebDAV PUT over a file, an upload with conflict
 * NEW_VERSION, restoreVersion): the file keeps its id, name, folder, shares and properties and
 * takes the new size, content hash and type. In one transaction (FilesRepository.replaceContent):
 * the new content's blob referenced (or recorded) and charged, the old content kept as a version
 * (issue 22; its charge stays, retention may prune older ones and give theirs back) —
 * QUOTA_EXCEEDED when that does not fit, and then nothing changed. `freed` lists the blobs no row
 * uses any more, whose bytes the caller deletes after the commit.
 */
import { eventBy } from '../activity/index.ts';
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { locationOf, toFileDto, type BlobLocation, type FileDto } from './files.dto.ts';
import type { FilesRepository } from './files.repository.ts';
import type { StoredBytes } from './files.service.ts';

export async function replaceContent(
  repo: FilesRepository,
  viewer: Viewer,
  fileId: string,
  input: StoredBytes,
): Promise<{ file: FileDto; duplicate: BlobLocation | null; freed: BlobLocation[] }> {
  const row = await repo.findLive(viewer.userId, fileId);
  if (!row) throw new AppError('NOT_FOUND', 'No such file or folder');
  if (row.isFolder) throw new AppError('BAD_INPUT', 'A folder has no content to replace', { details: { reason: 'is_folder' } });
  const { row: updated, blob, freed } = await repo.replaceContent(row, { size: input.size, contentHash: input.contentHash, mimeType: input.mimeType }, locationOf(input), eventBy(viewer, 'VERSION_ADDED', row));
  const duplicate = blob.storageKey !== input.storageKey || blob.backend !== input.backend ? locationOf(input) : null;
  return { file: toFileDto(updated), duplicate, freed: freed.map(locationOf) };
}
