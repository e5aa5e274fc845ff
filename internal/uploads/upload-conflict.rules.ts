/**
 * Whether an upload may go ahead although its name is taken in the folder (issue 22's conflict
 * policy, checked before a byte is stored; the commit decides for good, upload-commit.service.ts):
 * - FAIL: never (CONFLICT name_taken now);
 * - RENAME: always (the file gets the first free `name (n).ext` at commit);
 * - NEW_VERSION: when the item is a file (it takes the content, its old content a version); a
 *   folder of that name stays a clash. The very same content (hash and size) is no new version:
 *   the caller answers with the existing file, as without a conflict policy.
 */
import type { FileDto } from '../files/index.ts';
import type { ConflictPolicy } from './upload-commit.service.ts';

export function conflictAllows(conflict: ConflictPolicy | null | undefined, existing: FileDto | null, upload: { contentHash?: string | null | undefined; size: number }): boolean {
  if (!existing) return true;
  switch (conflict ?? 'FAIL') {
    case 'FAIL':
      return false;
    case 'RENAME':
      return true;
    case 'NEW_VERSION':
      return !existing.isFolder && !(upload.contentHash && existing.contentHash === upload.contentHash && existing.size === upload.size);
  }
}
