/**
 * An upload's commit with conflict NEW_VERSION (issue 22): when the name is free it is an ordinary
 * new file; when a live FILE of that name is in the folder, the bytes become that file's content
 * (same id) and its old content a version (content-replace.service.ts); a folder of that name stays
 * CONFLICT name_taken. The insert is tried first, so two uploads racing to create the name meet on
 * the unique index and the loser becomes the winner's new version.
 */
import { AppError } from '../../platform/errors.ts';
import type { Viewer } from '../../platform/request-context.ts';
import { replaceContent } from '../content-replace.service.ts';
import type { BlobLocation, FileDto } from '../files.dto.ts';
import type { FilesRepository } from '../files.repository.ts';
import type { StoredBytes } from '../files.service.ts';
import { nameKey, normalizeName } from '../names.ts';

/** Replaces tried when other new versions of the same file keep winning the race. */
const MAX_RACES = 5;

type Committed = { file: FileDto; duplicate: BlobLocation | null; freed?: BlobLocation[] };

export async function commitOrNewVersion(
  repo: FilesRepository,
  viewer: Viewer,
  input: StoredBytes,
  commitNew: (input: StoredBytes) => Promise<Committed>,
): Promise<Committed> {
  try {
    return await commitNew(input);
  } catch (error) {
    if (!(AppError.is(error, 'CONFLICT') && error.details?.reason === 'name_taken')) throw error;
    // Concurrent new versions of one file: the replace that lost the race (precondition_failed,
    // nothing changed) reads the file again and becomes the next version.
    for (let attempt = 1; ; attempt++) {
      const existing = await repo.findLiveChild(viewer.userId, input.parentId ?? viewer.userId, nameKey(normalizeName(input.name)));
      if (!existing || existing.isFolder) throw error;
      try {
        return await replaceContent(repo, viewer, existing.id, input);
      } catch (raced) {
        const lost = AppError.is(raced, 'CONFLICT') && raced.details?.reason === 'precondition_failed';
        if (!lost || attempt >= MAX_RACES) throw raced;
      }
    }
  }
}
