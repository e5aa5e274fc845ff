/**
 * Copies a file or folder tree into another person's folder by reference: new file rows point at
 * the same blobs (their reference counts go up), the quota is charged for the total size, all in
 * one transaction. No byte is copied. The copy's top item is renamed "name (n)" on a clash.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import { FileRow } from './files.entities.ts';
import { isUniqueViolation, type FilesRepository } from './files.repository.ts';
import { nameKey, numberedName } from './names.ts';

export const MAX_TREE_NODES = 10_000;

export async function copyTree(
  repo: FilesRepository,
  source: { ownerId: string; root: FileRow },
  target: { ownerId: string; folder: FileRow },
): Promise<FileRow> {
  const rows = await repo.em().find(FileRow, { ownerId: source.ownerId, path: { $like: `${source.root.path}%` }, trashedAt: null }, { limit: MAX_TREE_NODES + 1 });
  if (rows.length > MAX_TREE_NODES) throw new AppError('BAD_INPUT', `At most ${MAX_TREE_NODES} items can be saved at once`, { details: { reason: 'tree_too_large' } });
  // Parents before children: a shorter path is higher in the tree.
  rows.sort((a, b) => a.path.length - b.path.length);
  const bytes = rows.reduce((n, r) => n + (r.isFolder ? 0 : Number(r.size)), 0);
  for (let attempt = 0; attempt < 100; attempt++) {
    const topName = attempt === 0 ? source.root.name : numberedName(source.root.name, attempt);
    try {
      return await repo.transactional(async (em) => {
        if (!(await repo.charge(em, target.ownerId, bytes))) {
          throw new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { needed: bytes } });
        }
        const newIds = new Map<string, { id: string; path: string }>();
        const now = new Date();
        let top: FileRow | undefined;
        for (const row of rows) {
          const id = randomUUID();
          const parent = row.id === source.root.id ? { id: target.folder.id, path: target.folder.path } : newIds.get(row.parentId ?? '');
          if (!parent) continue;
          const path = `${parent.path}${id}/`;
          newIds.set(row.id, { id, path });
          const name = row.id === source.root.id ? topName : row.name;
          const copy: FileRow = Object.assign(new FileRow(), {
            ...row, id, ownerId: target.ownerId, parentId: parent.id, name, nameKey: nameKey(name), path,
            trashKey: '', trashedAt: null, trashedBy: null, createdAt: now, updatedAt: now,
          });
          if (copy.blobId && !(await repo.refBlobById(em, copy.blobId))) {
            throw new AppError('CONFLICT', 'A shared file was deleted meanwhile; try again', { details: { reason: 'blob_gone' } });
          }
          await em.insert(FileRow, copy);
          if (row.id === source.root.id) top = copy;
        }
        if (!top) throw new AppError('INTERNAL', 'tree copy lost its root');
        return top;
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
    }
  }
  throw new AppError('CONFLICT', 'No free name for the copy', { details: { reason: 'name_taken' } });
}
