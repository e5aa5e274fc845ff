/**
 * Files and folders of one person: browse, create, rename, move, trash, restore, purge; quota;
 * committing stored bytes as a file with content-addressed, reference-counted blobs.
 * Every read is scoped to the viewer: another person's id answers NOT_FOUND, never FORBIDDEN.
 */
import { AppError } from '../platform/errors.ts';
import type { Logger } from '../platform/logger.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { FileRow, type BlobRow } from './files.entities.ts';
import { encodeCursor, nameTaken, isUniqueViolation, type FilesRepository, type Page } from './files.repository.ts';
import { nameKey, normalizeName, numberedName } from './names.ts';

export const MAX_DEPTH = 64;
export const MAX_PAGE = 500;

export interface FileDto {
  id: string;
  name: string;
  size: number;
  contentHash: string | null;
  mimeType: string | null;
  isFolder: boolean;
  parentId: string | null;
  createdAt: string;
  updatedAt: string;
  trashedAt: string | null;
}

export interface Connection {
  edges: { cursor: string; node: FileDto }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

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
}

export interface BlobStores {
  store(name: string): ObjectStore;
}

export function toDto(row: FileRow): FileDto {
  return {
    id: row.id,
    name: row.name,
    size: Number(row.size),
    contentHash: row.contentHash,
    mimeType: row.mimeType,
    isFolder: row.isFolder,
    parentId: row.parentId,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    trashedAt: row.trashedAt ? row.trashedAt.toISOString() : null,
  };
}

const notFound = () => new AppError('NOT_FOUND', 'No such file or folder');
const depthOf = (path: string) => path.split('/').length - 2;

export class FilesService {
  constructor(
    private readonly repo: FilesRepository,
    private readonly stores: BlobStores,
    private readonly log: Logger,
  ) {}

  /** A live node of the viewer's, or the viewer's root when id is null. */
  async node(viewer: Viewer, id: string | null): Promise<FileRow> {
    if (id === null || id === viewer.userId) return this.repo.root(viewer.userId);
    const row = await this.repo.findLive(viewer.userId, id);
    if (!row) throw notFound();
    return row;
  }

  async folder(viewer: Viewer, id: string | null): Promise<FileRow> {
    const row = await this.node(viewer, id);
    if (!row.isFolder) throw new AppError('BAD_INPUT', 'That is a file, not a folder', { details: { field: 'id', reason: 'not_a_folder' } });
    return row;
  }

  async get(viewer: Viewer, id: string): Promise<FileDto> {
    return toDto(await this.node(viewer, id));
  }

  async getMany(viewer: Viewer, ids: readonly string[]): Promise<(FileDto | null)[]> {
    const rows = await this.repo.findLiveByIds(viewer.userId, ids);
    const byId = new Map(rows.filter((r) => r.trashKey === '').map((r) => [r.id, toDto(r)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** Breadcrumbs: the folders from the root down to (not including) the node. */
  async ancestors(viewer: Viewer, id: string): Promise<FileDto[]> {
    const row = await this.node(viewer, id);
    const ids = row.path.split('/').filter(Boolean).slice(0, -1);
    const rows = await this.repo.findLiveByIds(viewer.userId, ids);
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((a) => byId.get(a)).filter((r): r is FileRow => r !== undefined).map(toDto);
  }

  async children(viewer: Viewer, folderId: string, page: Page): Promise<Connection> {
    if (page.first < 0 || page.first > MAX_PAGE) {
      throw new AppError('BAD_INPUT', `first must be between 0 and ${MAX_PAGE}`, { details: { field: 'first', reason: 'page_size' } });
    }
    const folder = await this.folder(viewer, folderId);
    const [{ rows, hasNextPage }, totalCount] = await Promise.all([
      this.repo.children(viewer.userId, folder.id, page),
      this.repo.countChildren(viewer.userId, folder.id),
    ]);
    const edges = rows.map((row) => ({ cursor: encodeCursor(row, page.orderBy.field), node: toDto(row) }));
    return { edges, pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
  }

  async createFolder(viewer: Viewer, parentId: string | null, rawName: string): Promise<FileDto> {
    const name = normalizeName(rawName);
    const parent = await this.folder(viewer, parentId);
    if (depthOf(parent.path) >= MAX_DEPTH) throw new AppError('BAD_INPUT', `Folders nest at most ${MAX_DEPTH} deep`, { details: { reason: 'too_deep' } });
    const row = await this.repo.transactional((em) =>
      this.repo.insertNode(em, { ownerId: viewer.userId, parentId: parent.id, name, nameKey: nameKey(name), isFolder: true, size: 0, blobId: null, contentHash: null, mimeType: null }, parent.path),
    );
    return toDto(row);
  }

  async rename(viewer: Viewer, id: string, rawName: string): Promise<FileDto> {
    const name = normalizeName(rawName);
    const row = await this.node(viewer, id);
    if (row.parentId === null) throw new AppError('BAD_INPUT', 'The root folder cannot be renamed', { details: { reason: 'root' } });
    await this.update(row, { name, nameKey: nameKey(name) });
    return toDto(Object.assign(row, { name, nameKey: nameKey(name) }));
  }

  async move(viewer: Viewer, id: string, targetId: string | null): Promise<FileDto> {
    const row = await this.node(viewer, id);
    if (row.parentId === null) throw new AppError('BAD_INPUT', 'The root folder cannot be moved', { details: { reason: 'root' } });
    const target = await this.folder(viewer, targetId);
    // A folder cannot go into itself or anything below it: the target's path would contain it.
    if (target.path.startsWith(row.path)) {
      throw new AppError('BAD_INPUT', 'A folder cannot be moved into itself', { details: { field: 'parentId', reason: 'move_cycle' } });
    }
    if (target.id === row.parentId) return toDto(row);
    const subtreeDepth = row.isFolder ? await this.subtreeDepth(viewer.userId, row) : 0;
    if (depthOf(target.path) + 1 + subtreeDepth > MAX_DEPTH) throw new AppError('BAD_INPUT', `Folders nest at most ${MAX_DEPTH} deep`, { details: { reason: 'too_deep' } });
    const newPath = `${target.path}${row.id}/`;
    await this.repo.transactional(async (em) => {
      try {
        await em.nativeUpdate(FileRow, { id: row.id, ownerId: viewer.userId }, { parentId: target.id, updatedAt: new Date() });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(row.name, error);
        throw error;
      }
      // Re-root the subtree's materialised paths in one statement.
      await em.execute(
        'update files set path = ' + concat(em, '?', 'substr(path, ?)') + ' where owner_id = ? and path like ?',
        [newPath, row.path.length + 1, viewer.userId, `${row.path}%`],
        'run',
      );
    });
    return toDto(Object.assign(row, { parentId: target.id, path: newPath }));
  }

  async trash(viewer: Viewer, id: string): Promise<FileDto> {
    const row = await this.node(viewer, id);
    if (row.parentId === null) throw new AppError('BAD_INPUT', 'The root folder cannot be deleted', { details: { reason: 'root' } });
    const now = new Date();
    await this.repo.transactional(async (em) => {
      // Everything below goes with it, marked as trashed by this node so restore brings back exactly that.
      await em.execute(
        'update files set trashed_at = ?, trashed_by = ?, trash_key = id where owner_id = ? and path like ? and trashed_at is null',
        [now, row.id, viewer.userId, `${row.path}%`],
        'run',
      );
    });
    return toDto(Object.assign(row, { trashedAt: now, trashedBy: row.id, trashKey: row.id }));
  }

  async listTrash(viewer: Viewer): Promise<FileDto[]> {
    return (await this.repo.listTrash(viewer.userId)).map(toDto);
  }

  /** Restores a deletion to where it was (the root when that folder is gone), renaming on a clash. */
  async restore(viewer: Viewer, id: string): Promise<FileDto> {
    const row = await this.repo.findAny(viewer.userId, id);
    if (!row || row.trashedBy !== row.id) throw notFound();
    const parent = (row.parentId ? await this.repo.findLive(viewer.userId, row.parentId) : null) ?? (await this.repo.root(viewer.userId));
    for (let n = 0; n < 100; n++) {
      const name = n === 0 ? row.name : numberedName(row.name, n);
      try {
        const newPath = `${parent.path}${row.id}/`;
        await this.repo.transactional(async (em) => {
          await em.execute(
            'update files set trashed_at = null, trashed_by = null, trash_key = \'\' where owner_id = ? and trashed_by = ? and id <> ?',
            [viewer.userId, row.id, row.id],
            'run',
          );
          await em.nativeUpdate(FileRow, { id: row.id }, { trashedAt: null, trashedBy: null, trashKey: '', parentId: parent.id, name, nameKey: nameKey(name), updatedAt: new Date() });
          if (newPath !== row.path) {
            await em.execute('update files set path = ' + concat(em, '?', 'substr(path, ?)') + ' where owner_id = ? and path like ?', [newPath, row.path.length + 1, viewer.userId, `${row.path}%`], 'run');
          }
        });
        return this.get(viewer, row.id);
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
    }
    throw nameTaken(row.name);
  }

  /** Deletes a trashed item for good: rows, quota, and the bytes of blobs no file uses any more. */
  async purge(viewer: Viewer, id: string): Promise<boolean> {
    const row = await this.repo.findAny(viewer.userId, id);
    if (!row || row.trashedBy !== row.id) throw notFound();
    const orphans = await this.repo.transactional(async (em) => {
      const rows = await em.find(FileRow, { ownerId: viewer.userId, path: { $like: `${row.path}%` } });
      const freed: BlobRow[] = [];
      let bytes = 0;
      for (const r of rows) {
        if (r.blobId) {
          bytes += Number(r.size);
          const orphan = await this.repo.unrefBlob(em, r.blobId);
          if (orphan) freed.push(orphan);
        }
      }
      await em.nativeDelete(FileRow, { ownerId: viewer.userId, path: { $like: `${row.path}%` } });
      await this.repo.release(em, viewer.userId, bytes);
      return freed;
    });
    // Bytes go only after the rows are gone for good; a failure leaves an orphan object for fsck,
    // never a file pointing at missing bytes.
    for (const blob of orphans) {
      await this.stores.store(blob.backend).delete(blob.storageKey).catch((error: unknown) => this.log.warn({ err: error, blob: blob.id }, 'blob bytes not deleted'));
    }
    return true;
  }

  /**
   * Creates the person's root folder and quota row (registration calls this once; idempotent).
   * Every other path expects them and only repairs an account that lacks them.
   */
  async provisionDrive(viewer: Viewer): Promise<{ rootId: string; used: number; limit: number }> {
    await this.repo.provisionDrive(viewer.userId);
    const root = await this.repo.root(viewer.userId);
    return { rootId: root.id, ...(await this.quota(viewer)) };
  }

  async quota(viewer: Viewer): Promise<{ used: number; limit: number }> {
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
    const parent = await this.folder(viewer, parentId);
    if (await this.repo.findLiveChild(viewer.userId, parent.id, nameKey(name))) throw nameTaken(name);
    return { parentId: parent.id, name };
  }

  /** The folder (validated) and the live item of that name in it, if any. */
  async childByName(viewer: Viewer, parentId: string | null, rawName: string): Promise<{ parentId: string; name: string; existing: FileDto | null }> {
    const name = normalizeName(rawName);
    const parent = await this.folder(viewer, parentId);
    const existing = await this.repo.findLiveChild(viewer.userId, parent.id, nameKey(name));
    return { parentId: parent.id, name, existing: existing ? toDto(existing) : null };
  }

  /** An existing live blob with this content, if any (instant upload). */
  findBlob(contentHash: string, size: number): Promise<BlobRow | null> {
    return this.repo.findBlob(contentHash, size);
  }

  /**
   * Records stored bytes as a file: charges the quota, links to the existing blob of the same
   * content (then `duplicate` names the bytes just written, which the caller deletes) or records a
   * new blob, and inserts the file row, all in one transaction.
   */
  async commitFile(viewer: Viewer, input: StoredBytes): Promise<{ file: FileDto; duplicate: { backend: string; storageKey: string } | null }> {
    if (input.id) {
      const done = await this.repo.findAny(viewer.userId, input.id);
      if (done) return { file: toDto(done), duplicate: null };
    }
    const name = normalizeName(input.name);
    const parent = await this.folder(viewer, input.parentId);
    return this.repo.transactional(async (em) => {
      if (!(await this.repo.charge(em, viewer.userId, input.size))) {
        throw new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { needed: input.size } });
      }
      let blob = await this.repo.refExistingBlob(em, input.contentHash, input.size);
      let duplicate: { backend: string; storageKey: string } | null = null;
      if (blob) {
        if (blob.storageKey !== input.storageKey || blob.backend !== input.backend) duplicate = { backend: input.backend, storageKey: input.storageKey };
      } else {
        blob = await this.repo.insertBlob(em, { contentHash: input.contentHash, size: input.size, backend: input.backend, storageKey: input.storageKey });
      }
      const row = await this.repo.insertNode(em, {
        ...(input.id ? { id: input.id } : {}), ownerId: viewer.userId, parentId: parent.id, name, nameKey: nameKey(name), isFolder: false, size: input.size,
        blobId: blob.id, contentHash: input.contentHash, mimeType: input.mimeType,
      }, parent.path);
      return { file: toDto(row), duplicate };
    });
  }

  /** What a download needs: the file and where its bytes are. */
  async content(viewer: Viewer, id: string): Promise<{ file: FileDto; blob: BlobRow }> {
    const row = await this.node(viewer, id);
    if (row.isFolder || !row.blobId) throw new AppError('BAD_INPUT', 'A folder has no content to download', { details: { reason: 'is_folder' } });
    const blob = await this.repo.findBlobById(row.blobId);
    if (!blob) throw new AppError('INTERNAL', `file ${row.id} points at missing blob ${row.blobId}`);
    return { file: toDto(row), blob };
  }

  private async update(row: FileRow, changes: Partial<FileRow>): Promise<void> {
    try {
      await this.repo.em().nativeUpdate(FileRow, { id: row.id, ownerId: row.ownerId }, { ...changes, updatedAt: new Date() });
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(changes.name ?? row.name, error);
      throw error;
    }
  }

  private async subtreeDepth(ownerId: string, row: FileRow): Promise<number> {
    const rows = await this.repo.em().find(FileRow, { ownerId, path: { $like: `${row.path}%` }, isFolder: true }, { fields: ['path'] });
    const base = depthOf(row.path);
    return rows.reduce((max, r) => Math.max(max, depthOf(r.path) - base), 0);
  }
}

/** String concatenation differs: MySQL has concat(), SQLite the || operator. */
function concat(em: { getPlatform(): { constructor: { name: string } } }, a: string, b: string): string {
  return /sqlite/i.test(em.getPlatform().constructor.name) ? `(${a} || ${b})` : `concat(${a}, ${b})`;
}
