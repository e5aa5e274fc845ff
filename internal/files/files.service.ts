/**
 * Files and folders of one person: browse, create, rename, move, trash, restore, purge; quota;
 * committing stored bytes as a file with content-addressed, reference-counted blobs.
 * Every read is scoped to the viewer: another person's id answers NOT_FOUND, never FORBIDDEN.
 * The database is reached only through FilesRepository; what goes out is a DTO (files.dto.ts).
 */
import { eventBy } from '../activity/index.ts';
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { locationOf, toBlobDto, toFileDto, type BlobLocation, type Connection, type ContentDto, type FileDto, type QuotaDto } from './files.dto.ts';
import type { FileRow } from './files.entities.ts';
import { encodeCursor, type Page } from './files.paging.ts';
import { nameTaken, type FilesRepository } from './files.repository.ts';
import { nameKey, normalizeName, numberedName } from './names.ts';
import { replaceContent } from './content-replace.service.ts';
import { copyTree } from './tree-copy.service.ts';
import { commitOrNewVersion } from './versions/versions.commit.ts';

export const MAX_DEPTH = 64;
export const MAX_PAGE = 500;

export interface StoredBytes {
  /**
   * The new file's id, chosen by the caller (an upload session uses its own id) so that a commit
   * repeated after a crash finds the file it already made instead of making a second one.
   */
  id?: string;
  parentId: string | null;
  name: string;
  size: number;
  contentHash: string;
  mimeType: string | null;
  backend: string;
  storageKey: string;
  /** A live file that takes this content in place (content-replace.service.ts). */
  replaces?: string | undefined;
  /**
   * The folder's path as uploadTarget read it: the commit then reads no folder, and its quota
   * charge holds only while that folder is still the viewer's, live, at that path (checked in
   * the commit's transaction); otherwise the commit reads the folder as usual.
   */
  parentPath?: string | undefined;
  /** The file-drop link it arrived through: the owner's activity says DROP_RECEIVED. */
  uploadLinkId?: string | null | undefined;
  /** conflict NEW_VERSION: a live file of that name takes this content, its old one kept as a version (versions.commit.ts). */
  newVersion?: boolean | undefined;
}

/** Where a one-request upload goes and the room it has: uploadTarget's answer. */
export interface UploadTarget extends QuotaDto {
  parentId: string;
  name: string;
  parentPath: string;
}

export interface BlobStores {
  store(name: string): ObjectStore;
}

const notFound = () => new AppError('NOT_FOUND', 'No such file or folder');
const tooDeep = () => new AppError('BAD_INPUT', `Folders nest at most ${MAX_DEPTH} deep`, { details: { reason: 'too_deep' } });
const refuseRoot = (row: FileRow, action: string) => {
  if (row.parentId === null) throw new AppError('BAD_INPUT', `The root folder cannot be ${action}`, { details: { reason: 'root' } });
};
const depthOf = (path: string) => path.split('/').length - 2;

export class FilesService {
  constructor(
    private readonly repo: FilesRepository,
    private readonly stores: BlobStores,
    private readonly log: Logger,
  ) {}

  /** Told of a file whose content was recorded as a new blob (the thumbnails feature queues its job). */
  contentRecorded?: (file: FileDto) => void;

  private recorded<T extends { file: FileDto; duplicate: BlobLocation | null }>(result: T): T {
    if (result.duplicate === null) this.contentRecorded?.(result.file);
    return result;
  }

  /** A live node of the viewer's, or the viewer's root when id is null. */
  async node(viewer: Viewer, id: string | null): Promise<FileDto> {
    return toFileDto(await this.nodeRow(viewer, id));
  }

  /** Like `node`, but BAD_INPUT not_a_folder for a file. */
  async folder(viewer: Viewer, id: string | null): Promise<FileDto> {
    return toFileDto(await this.folderRow(viewer, id));
  }

  async get(viewer: Viewer, id: string): Promise<FileDto> {
    return toFileDto(await this.nodeRow(viewer, id));
  }

  async getMany(viewer: Viewer, ids: readonly string[]): Promise<(FileDto | null)[]> {
    const rows = await this.repo.findLiveByIds(viewer.userId, ids);
    const byId = new Map(rows.filter((r) => r.trashKey === '').map((r) => [r.id, toFileDto(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Breadcrumbs: the folders from the root down to (not including) the node. */
  async ancestors(viewer: Viewer, id: string): Promise<FileDto[]> {
    const row = await this.nodeRow(viewer, id);
    const ids = row.path.split('/').filter(Boolean).slice(0, -1);
    const rows = await this.repo.findLiveByIds(viewer.userId, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((a) => byId.get(a)).filter((r): r is FileRow => r !== undefined).map(toFileDto);
  }

  async children(viewer: Viewer, folderId: string, page: Page): Promise<Connection> {
    if (page.first < 0 || page.first > MAX_PAGE) {
      throw new AppError('BAD_INPUT', `first must be between 0 and ${MAX_PAGE}`, { details: { field: 'first', reason: 'page_size' } });
    }
    // The page first: a live child of the viewer's proves its folder is the viewer's, live (trash
    // marks a whole subtree, restore brings it back whole) and a folder, so the folder is read only
    // when the page is empty, to answer NOT_FOUND or not_a_folder exactly as before.
    const { rows, hasNextPage, totalCount = 0 } = await this.repo.children(viewer.userId, folderId, page, { count: true });
    if (rows.length === 0 && !hasNextPage) await this.folderRow(viewer, folderId);
    const edges = rows.map((row) => ({ cursor: encodeCursor(row, page.orderBy.field), node: toFileDto(row) }));
    return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
  }

  async createFolder(viewer: Viewer, parentId: string | null, rawName: string): Promise<FileDto> {
    const name = normalizeName(rawName);
    const parent = await this.folderRow(viewer, parentId);
    if (depthOf(parent.path) >= MAX_DEPTH) throw tooDeep();
    const row = await this.repo.createNode(
      { ownerId: viewer.userId, parentId: parent.id, name, nameKey: nameKey(name), isFolder: true, size: 0, blobId: null, contentHash: null, mimeType: null },
      parent.path,
    );
    return toFileDto(row);
  }

  async rename(viewer: Viewer, id: string, rawName: string): Promise<FileDto> {
    const name = normalizeName(rawName);
    const row = await this.nodeRow(viewer, id);
    refuseRoot(row, 'renamed');
    await this.repo.rename(row, name, nameKey(name), eventBy(viewer, 'RENAMED', { id: row.id, name }));
    return toFileDto(Object.assign(row, { name, nameKey: nameKey(name) }));
  }

  async move(viewer: Viewer, id: string, targetId: string | null): Promise<FileDto> {
    const row = await this.nodeRow(viewer, id);
    refuseRoot(row, 'moved');
    const target = await this.folderRow(viewer, targetId);
    // A folder cannot go into itself or anything below it: the target's path would contain it.
    if (target.path.startsWith(row.path)) {
      throw new AppError('BAD_INPUT', 'A folder cannot be moved into itself', { details: { field: 'parentId', reason: 'move_cycle' } });
    }
    if (target.id === row.parentId) return toFileDto(row);
    const subtreeDepth = row.isFolder ? await this.subtreeDepth(row) : 0;
    if (depthOf(target.path) + 1 + subtreeDepth > MAX_DEPTH) throw tooDeep();
    const path = await this.repo.move(row, target, undefined, eventBy(viewer, 'MOVED', row));
    return toFileDto(Object.assign(row, { parentId: target.id, path }));
  }

  async trash(viewer: Viewer, id: string): Promise<FileDto> {
    const row = await this.nodeRow(viewer, id);
    refuseRoot(row, 'deleted');
    const now = new Date();
    await this.repo.trash(row, now, eventBy(viewer, 'TRASHED', row));
    return toFileDto(Object.assign(row, { trashedAt: now, trashedBy: row.id, trashKey: row.id }));
  }

  async listTrash(viewer: Viewer): Promise<FileDto[]> {
    return (await this.repo.listTrash(viewer.userId)).map(toFileDto);
  }

  /** Restores a deletion to where it was (the root when that folder is gone), renaming on a clash. */
  async restore(viewer: Viewer, id: string): Promise<FileDto> {
    const row = await this.trashedRow(viewer, id);
    const parent = (row.parentId ? await this.repo.findLive(viewer.userId, row.parentId) : null) ?? (await this.repo.root(viewer.userId));
    for (let n = 0; n < 100; n++) {
      const name = n === 0 ? row.name : numberedName(row.name, n);
      if (await this.repo.restore(row, parent, name, nameKey(name), eventBy(viewer, 'RESTORED', row))) return this.get(viewer, row.id);
    }
    throw nameTaken(row.name);
  }

  /** Deletes a trashed item for good: rows, quota, and the bytes of blobs no file uses any more. */
  async purge(viewer: Viewer, id: string): Promise<boolean> {
    const node = await this.trashedRow(viewer, id);
    const orphans = await this.repo.purge(node, eventBy(viewer, 'PURGED', node));
    // Bytes go only after the rows are gone for good; a failure leaves an orphan object for fsck,
    // never a file pointing at missing bytes.
    for (const blob of orphans) {
      await this.stores.store(blob.backend).delete(blob.storageKey).catch((error: unknown) => this.log.warn({ err: error, blob: blob.id }, 'blob bytes not deleted'));
    }
    return true;
  }

  /**
   * Copies another person's live item (a share's) into the viewer's folder by reference to the
   * same blobs: no bytes copied (tree-copy.service.ts).
   */
  async copyInto(viewer: Viewer, targetFolderId: string | null, source: { ownerId: string; rootId: string }): Promise<FileDto> {
    const folder = await this.folderRow(viewer, targetFolderId);
    const root = await this.repo.findLive(source.ownerId, source.rootId);
    if (!root) throw notFound();
    return toFileDto(await copyTree(this.repo, root, { ownerId: viewer.userId, folder }));
  }

  /**
   * Creates the person's root folder and quota row (registration calls this once; idempotent).
   * Every other path expects them and only repairs an account that lacks them.
   */
  async provisionDrive(viewer: Viewer): Promise<{ rootId: string } & QuotaDto> {
    await this.repo.provisionDrive(viewer.userId);
    const root = await this.repo.root(viewer.userId);
    return { rootId: root.id, ...(await this.quota(viewer)) };
  }

  async quota(viewer: Viewer): Promise<QuotaDto> {
    const q = await this.repo.quota(viewer.userId);
    return { used: Number(q.usedBytes), limit: Number(q.limitBytes) };
  }

  /** QUOTA_EXCEEDED unless `size` more bytes fit. A pre-check: the charge itself is atomic at commit. */
  async assertFits(viewer: Viewer, size: number): Promise<void> {
    const q = await this.quota(viewer);
    if (q.used + size > q.limit) {
      throw new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { used: q.used, limit: q.limit, needed: size } });
    }
  }

  /** Checks that a name can be used in a folder now (before bytes are sent). */
  async assertNameFree(viewer: Viewer, parentId: string | null, rawName: string): Promise<{ parentId: string; name: string }> {
    const name = normalizeName(rawName);
    const parent = await this.folderRow(viewer, parentId);
    if (await this.repo.findLiveChild(viewer.userId, parent.id, nameKey(name))) throw nameTaken(name);
    return { parentId: parent.id, name };
  }

  /**
   * The pre-checks of a one-request upload in one call: the name is free in the folder (refused
   * first, as assertNameFree does), and the quota as it stands; the folder's path lets the commit
   * skip reading the folder again (StoredBytes.parentPath).
   */
  async uploadTarget(viewer: Viewer, parentId: string | null, rawName: string): Promise<UploadTarget> {
    const name = normalizeName(rawName);
    const folderId = parentId ?? viewer.userId;
    const read = await this.repo.uploadTarget(viewer.userId, folderId, nameKey(name));
    if (read) {
      if (!read.isFolder) throw notAFolder();
      if (read.taken) throw nameTaken(name);
      return { parentId: folderId, name, parentPath: read.path, used: read.used, limit: read.limit };
    }
    const parent = await this.folderRow(viewer, parentId);
    if (await this.repo.findLiveChild(viewer.userId, parent.id, nameKey(name))) throw nameTaken(name);
    return { parentId: parent.id, name, parentPath: parent.path, ...(await this.quota(viewer)) };
  }

  /** The folder (validated) and the live item of that name in it, if any. */
  async childByName(viewer: Viewer, parentId: string | null, rawName: string): Promise<{ parentId: string; name: string; existing: FileDto | null }> {
    const name = normalizeName(rawName);
    const parent = await this.folderRow(viewer, parentId);
    const existing = await this.repo.findLiveChild(viewer.userId, parent.id, nameKey(name));
    return { parentId: parent.id, name, existing: existing ? toFileDto(existing) : null };
  }

  /** Where the bytes of an existing live blob with this content are, if any (instant upload). */
  async blobFor(contentHash: string, size: number): Promise<BlobLocation | null> {
    const blob = await this.repo.findBlob(contentHash, size);
    return blob ? locationOf(blob) : null;
  }

  /**
   * Records stored bytes as a file: charges the quota, links to the existing blob of the same
   * content (then `duplicate` names the bytes just written, which the caller deletes) or records a
   * new blob, and inserts the file row, all in one transaction.
   */
  async commitFile(viewer: Viewer, input: StoredBytes): Promise<{ file: FileDto; duplicate: BlobLocation | null; freed?: BlobLocation[] }> {
    if (input.replaces) return this.recorded(await replaceContent(this.repo, viewer, input.replaces, input));
    if (input.newVersion) return commitOrNewVersion(this.repo, viewer, input, (plain) => this.commitFile(viewer, { ...plain, newVersion: false }));
    if (input.id) {
      const done = await this.repo.findAny(viewer.userId, input.id);
      if (done) return { file: toFileDto(done), duplicate: null };
    }
    const name = normalizeName(input.name);
    const file = (parentId: string) => ({
      ...(input.id ? { id: input.id } : {}), ownerId: viewer.userId, parentId, name, nameKey: nameKey(name),
      size: input.size, contentHash: input.contentHash, mimeType: input.mimeType,
    });
    let committed: Awaited<ReturnType<FilesRepository['commitFile']>> | null = null;
    // An arrival through a file-drop link is the owner's DROP_RECEIVED (the link as its share), else UPLOADED.
    const event = input.uploadLinkId ? { ...eventBy(viewer, 'DROP_RECEIVED', null, input.uploadLinkId), actorName: null } : eventBy(viewer, 'UPLOADED');
    if (input.parentPath !== undefined && input.parentId !== null) {
      // null: the folder moved, went or is not the viewer's since it was read; read it now.
      committed = await this.repo.commitFile(file(input.parentId), input.parentPath, locationOf(input), { guardParent: true, event });
    }
    if (!committed) {
      const parent = await this.folderRow(viewer, input.parentId);
      committed = await this.repo.commitFile(file(parent.id), parent.path, locationOf(input), { event });
    }
    if (!committed) throw new Error('commitFile without a parent guard always commits or throws');
    const { row, blob } = committed;
    const duplicate = blob.storageKey !== input.storageKey || blob.backend !== input.backend ? locationOf(input) : null;
    return this.recorded({ file: toFileDto(row), duplicate });
  }

  /** What a download needs: the file and where its bytes are. */
  async content(viewer: Viewer, id: string): Promise<ContentDto> {
    const row = await this.nodeRow(viewer, id);
    if (row.isFolder || !row.blobId) throw new AppError('BAD_INPUT', 'A folder has no content to download', { details: { reason: 'is_folder' } });
    const blob = await this.repo.findBlobById(row.blobId);
    if (!blob) throw new AppError('INTERNAL', `file ${row.id} points at missing blob ${row.blobId}`);
    return { file: toFileDto(row), blob: toBlobDto(blob) };
  }

  /** The viewer's live row (their root for null), else NOT_FOUND. For the services of this folder only. */
  async nodeRow(viewer: Viewer, id: string | null): Promise<FileRow> {
    if (id === null || id === viewer.userId) return this.repo.root(viewer.userId);
    const row = await this.repo.findLive(viewer.userId, id);
    if (!row) throw notFound();
    return row;
  }

  /** Like nodeRow, but BAD_INPUT not_a_folder for a file. */
  async folderRow(viewer: Viewer, id: string | null): Promise<FileRow> {
    const row = await this.nodeRow(viewer, id);
    if (!row.isFolder) throw notAFolder();
    return row;
  }

  /** The root of a deletion (what the person deleted), else NOT_FOUND. */
  private async trashedRow(viewer: Viewer, id: string): Promise<FileRow> {
    const row = await this.repo.findAny(viewer.userId, id);
    if (!row || row.trashedBy !== row.id) throw notFound();
    return row;
  }

  /** How many levels of folders lie below a folder (0 for a file or an empty folder). */
  async subtreeDepth(row: FileRow): Promise<number> {
    const base = depthOf(row.path);
    return (await this.repo.folderPaths(row.ownerId, row.path)).reduce((max, path) => Math.max(max, depthOf(path) - base), 0);
  }
}

export function notAFolder(): AppError {
  return new AppError('BAD_INPUT', 'That is a file, not a folder', { details: { field: 'id', reason: 'not_a_folder' } });
}
