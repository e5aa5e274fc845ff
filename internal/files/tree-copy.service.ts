/**
 * Copies a file or folder tree into another person's folder by reference: new file rows point at
 * the same blobs (their reference counts go up), the quota is charged for the total size, all in
 * one transaction (FilesRepository.insertTree). No byte is copied. The copy's top item is renamed
 * "name (n)" on a clash.
 */
import { randomUUID } from 'node:crypto';
import { AppError } from '../platform/errors.ts';
import type { FileRow } from './files.entities.ts';
import type { FilesRepository } from './files.repository.ts';
import { nameKey, numberedName } from './names.ts';

export const MAX_TREE_NODES = 10_000;

export async function copyTree(repo: FilesRepository, root: FileRow, target: { ownerId: string; folder: FileRow }): Promise<FileRow> {
  const rows = await subtreeRows(repo, root, false);
  for (let attempt = 0; attempt < 100; attempt++) {
    const top = await insertCopy(repo, rows, root, target, attempt === 0 ? root.name : numberedName(root.name, attempt));
    if (top) return top;
  }
  throw new AppError('CONFLICT', 'No free name for the copy', { details: { reason: 'name_taken' } });
}

/**
 * Copies a tree (or, `shallow`, only its top item: WebDAV COPY of a collection with Depth 0) into
 * a folder under exactly `name`; null when that name is taken there (nothing changed).
 */
export async function copyTreeAs(repo: FilesRepository, root: FileRow, target: { ownerId: string; folder: FileRow }, name: string, shallow: boolean): Promise<FileRow | null> {
  return insertCopy(repo, await subtreeRows(repo, root, shallow), root, target, name);
}

/** The live rows to copy, parents before children (a shorter path is higher in the tree). */
async function subtreeRows(repo: FilesRepository, root: FileRow, shallow: boolean): Promise<FileRow[]> {
  if (shallow) return [root];
  const rows = await repo.liveSubtree(root.ownerId, root.path, MAX_TREE_NODES + 1);
  if (rows.length > MAX_TREE_NODES) throw new AppError('BAD_INPUT', `At most ${MAX_TREE_NODES} items can be saved at once`, { details: { reason: 'tree_too_large' } });
  return rows.sort((a, b) => a.path.length - b.path.length);
}

async function insertCopy(repo: FilesRepository, rows: readonly FileRow[], root: FileRow, target: { ownerId: string; folder: FileRow }, topName: string): Promise<FileRow | null> {
  const bytes = rows.reduce((n, r) => n + (r.isFolder ? 0 : Number(r.size)), 0);
  const copies = copiesOf(rows, root, target, topName);
  // The root's copy comes first (shortest path); without the root nothing below it is copied.
  const top = copies[0];
  if (!top) throw new AppError('INTERNAL', 'tree copy lost its root');
  return (await repo.insertTree(target.ownerId, bytes, copies)) ? top : null;
}

/** New rows for the target, parents first, with new ids and paths; a row whose parent is not copied is left out. */
function copiesOf(rows: readonly FileRow[], root: FileRow, target: { ownerId: string; folder: FileRow }, topName: string): FileRow[] {
  const newIds = new Map<string, { id: string; path: string }>();
  const now = new Date();
  const copies: FileRow[] = [];
  for (const row of rows) {
    const id = randomUUID();
    const parent = row.id === root.id ? { id: target.folder.id, path: target.folder.path } : newIds.get(row.parentId ?? '');
    if (!parent) continue;
    const path = `${parent.path}${id}/`;
    newIds.set(row.id, { id, path });
    const name = row.id === root.id ? topName : row.name;
    copies.push({
      ...row, id, ownerId: target.ownerId, parentId: parent.id, name, nameKey: nameKey(name), path,
      trashKey: '', trashedAt: null, trashedBy: null, createdAt: now, updatedAt: now,
    });
  }
  return copies;
}
