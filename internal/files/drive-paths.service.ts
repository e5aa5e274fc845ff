/**
 * The drive addressed by paths of names (WebDAV, api/dav/): resolve a path to its node and the
 * folder that holds it, list a folder page by page without counting it, and copy or move an item
 * to a folder under a name the caller chooses (a COPY/MOVE Destination names it). Names follow
 * the drive's rules (names.ts): each segment is normalised, and one the drive refuses is BAD_INPUT
 * with its reason. Every lookup is scoped to the viewer, so another person's path does not exist.
 */
import { eventBy } from '../activity/index.ts';
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import { toFileDto, type FileDto } from './files.dto.ts';
import type { FileRow } from './files.entities.ts';
import { encodeCursor } from './files.paging.ts';
import { nameTaken, type FilesRepository } from './files.repository.ts';
import { MAX_DEPTH, type FilesService } from './files.service.ts';
import { nameKey, normalizeName } from './names.ts';
import { copyTreeAs } from './tree-copy.service.ts';

export interface ResolvedPath {
  /** The live item at the path (the root for no names), or null. */
  node: FileDto | null;
  /** The folder that holds (or would hold) the last name; null for the root or when a folder above is missing. */
  parent: FileDto | null;
}

export interface ChildPage {
  nodes: FileDto[];
  endCursor: string | null;
  hasNextPage: boolean;
}

const depthOf = (path: string) => path.split('/').length - 2;
const tooDeep = () => new AppError('BAD_INPUT', `Folders nest at most ${MAX_DEPTH} deep`, { details: { reason: 'too_deep' } });

export class DrivePaths {
  constructor(
    private readonly repo: FilesRepository,
    private readonly files: FilesService,
  ) {}

  /** One statement per name: the folders are looked up by (parent, name key), an indexed pair. */
  async resolve(viewer: Viewer, rawNames: readonly string[]): Promise<ResolvedPath> {
    const names = rawNames.map(normalizeName);
    let parent: FileRow | null = null;
    let current: FileRow = await this.repo.root(viewer.userId);
    for (const [i, name] of names.entries()) {
      const last = i === names.length - 1;
      if (!current.isFolder) return { node: null, parent: null };
      const child = await this.repo.findLiveChild(viewer.userId, current.id, nameKey(name));
      if (!child) return { node: null, parent: last ? toFileDto(current) : null };
      parent = current;
      current = child;
    }
    return { node: toFileDto(current), parent: parent ? toFileDto(parent) : null };
  }

  /**
   * A page of a folder's children by name (folders first), keyset-paged: one statement for the
   * folder and one for the page, whatever the folder's size; no count.
   */
  async page(viewer: Viewer, folderId: string, first: number, after: string | undefined): Promise<ChildPage> {
    const folder = await this.files.folderRow(viewer, folderId);
    const orderBy = { field: 'NAME', direction: 'ASC' } as const;
    const { rows, hasNextPage } = await this.repo.children(viewer.userId, folder.id, { first, orderBy, ...(after ? { after } : {}) });
    const last = rows.at(-1);
    return { nodes: rows.map(toFileDto), endCursor: last ? encodeCursor(last, 'NAME') : null, hasNextPage };
  }

  /** Copies an item by reference (no bytes) into a folder as `name`; CONFLICT name_taken when that name is there. */
  async copyTo(viewer: Viewer, id: string, parentId: string, rawName: string, shallow: boolean): Promise<FileDto> {
    const name = normalizeName(rawName);
    const row = await this.files.nodeRow(viewer, id);
    const target = await this.files.folderRow(viewer, parentId);
    if (!shallow && row.isFolder && target.path.startsWith(row.path)) {
      throw new AppError('BAD_INPUT', 'A folder cannot be copied into itself', { details: { field: 'parentId', reason: 'move_cycle' } });
    }
    const below = row.isFolder && !shallow ? await this.files.subtreeDepth(row) : 0;
    if (depthOf(target.path) + 1 + below > MAX_DEPTH) throw tooDeep();
    const copy = await copyTreeAs(this.repo, row, { ownerId: viewer.userId, folder: target }, name, shallow);
    if (!copy) throw nameTaken(name);
    return toFileDto(copy);
  }

  /** Moves (and renames) an item into a folder as `name` in one transaction. */
  async moveTo(viewer: Viewer, id: string, parentId: string, rawName: string): Promise<FileDto> {
    const name = normalizeName(rawName);
    const row = await this.files.nodeRow(viewer, id);
    if (row.parentId === null) throw new AppError('BAD_INPUT', 'The root folder cannot be moved', { details: { reason: 'root' } });
    const target = await this.files.folderRow(viewer, parentId);
    // A folder cannot go into itself or anything below it: the target's path would contain it.
    if (target.path.startsWith(row.path)) {
      throw new AppError('BAD_INPUT', 'A folder cannot be moved into itself', { details: { field: 'parentId', reason: 'move_cycle' } });
    }
    const below = row.isFolder ? await this.files.subtreeDepth(row) : 0;
    if (target.id !== row.parentId && depthOf(target.path) + 1 + below > MAX_DEPTH) throw tooDeep();
    const event = eventBy(viewer, target.id === row.parentId ? 'RENAMED' : 'MOVED', { id: row.id, name });
    const path = await this.repo.move(row, target, { name, nameKey: nameKey(name) }, event);
    return toFileDto(Object.assign(row, { parentId: target.id, path, name, nameKey: nameKey(name) }));
  }
}
