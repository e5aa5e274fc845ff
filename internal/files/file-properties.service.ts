/**
 * WebDAV dead properties of a person's files and folders (RFC 4918 §4, §9.2): read many at once
 * (PROPFIND), change atomically (PROPPATCH). Live properties are the server's: anything in the
 * DAV: namespace is refused here (§9.2: "cannot-modify-protected-property"), the WebDAV handler
 * answers it 403 before calling. Bounds keep a file's properties small: a value at most
 * MAX_PROPERTY_VALUE_BYTES of UTF-8, at most MAX_PROPERTIES_PER_FILE per file.
 */
import { AppError } from '../platform/errors.ts';
import type { Viewer } from '../platform/request-context.ts';
import type { DeadProperty, FilePropertiesRepository, PropertyChange } from './file-properties.repository.ts';
import type { FileRow } from './files.entities.ts';
import type { FilesRepository } from './files.repository.ts';
import { nameKey } from './names.ts';
import { MAX_TREE_NODES } from './tree-copy.service.ts';

export const MAX_PROPERTY_VALUE_BYTES = 32 * 1024;
export const MAX_PROPERTIES_PER_FILE = 256;
/** Namespace URI and local name each fit a 255-character column. */
export const MAX_PROPERTY_NAME = 255;

export type { DeadProperty, PropertyChange } from './file-properties.repository.ts';

/** Why a change cannot be kept, or null when it can (the handler's per-property status comes from it). */
export function refusalOf(change: PropertyChange): AppError | null {
  if (change.namespace === 'DAV:') {
    return new AppError('FORBIDDEN', `DAV:${change.name} is a live property the server maintains`, { details: { reason: 'property_protected' } });
  }
  if (change.name.length === 0 || change.name.length > MAX_PROPERTY_NAME || change.namespace.length > MAX_PROPERTY_NAME) {
    return new AppError('BAD_INPUT', `A property's namespace and name have at most ${MAX_PROPERTY_NAME} characters`, { details: { reason: 'property_too_large' } });
  }
  if (change.op === 'set' && Buffer.byteLength(change.value, 'utf8') > MAX_PROPERTY_VALUE_BYTES) {
    return new AppError('PAYLOAD_TOO_LARGE', `A property value has at most ${MAX_PROPERTY_VALUE_BYTES} bytes`, { details: { reason: 'property_too_large' } });
  }
  return null;
}

export class FilePropertiesService {
  constructor(
    private readonly repo: FilePropertiesRepository,
    private readonly files: FilesRepository,
  ) {}

  /** The properties of the viewer's files among `ids` (others' ids simply have none). */
  async forFiles(viewer: Viewer, ids: readonly string[]): Promise<Record<string, DeadProperty[]>> {
    return Object.fromEntries(await this.repo.forFiles(viewer.userId, ids));
  }

  /** Sets and removes in order, all or nothing; NOT_FOUND for an item that is not the viewer's. */
  async patch(viewer: Viewer, fileId: string, changes: readonly PropertyChange[]): Promise<boolean> {
    for (const change of changes) {
      const refusal = refusalOf(change);
      if (refusal) throw refusal;
    }
    if (!(await this.repo.ownsLive(viewer.userId, fileId))) throw new AppError('NOT_FOUND', 'No such file or folder');
    await this.repo.patch(fileId, changes, MAX_PROPERTIES_PER_FILE);
    return true;
  }

  /**
   * After a copy (WebDAV COPY, §9.8.2: "dead properties ... SHOULD be duplicated at the
   * destination"): each item of the copy gets the properties of the item at the same place in the
   * source tree (matched by names below the two tops, which the copy made identical).
   */
  async copySubtree(viewer: Viewer, fromId: string, toId: string): Promise<boolean> {
    const [from, to] = await Promise.all([this.files.findLive(viewer.userId, fromId), this.files.findLive(viewer.userId, toId)]);
    if (!from || !to) throw new AppError('NOT_FOUND', 'No such file or folder');
    const pairs = new Map<string, string>([[to.id, from.id]]);
    if (from.isFolder && to.isFolder) {
      const [source, copy] = await Promise.all([
        this.files.liveSubtree(viewer.userId, from.path, MAX_TREE_NODES + 1),
        this.files.liveSubtree(viewer.userId, to.path, MAX_TREE_NODES + 1),
      ]);
      const byPlace = placesOf(source, from.id);
      for (const [place, id] of placesOf(copy, to.id)) {
        const original = byPlace.get(place);
        if (original && place !== '') pairs.set(id, original);
      }
    }
    await this.repo.copy(pairs);
    return true;
  }
}

/** Each row of a subtree by its names below the top ("" for the top; "a/b" below it). */
function placesOf(rows: readonly FileRow[], topId: string): Map<string, string> {
  const byId = new Map(rows.map((r) => [r.id, r]));
  const memo = new Map<string, string>([[topId, '']]);
  const placeOf = (row: FileRow): string | null => {
    const known = memo.get(row.id);
    if (known !== undefined) return known;
    const parent = row.parentId ? byId.get(row.parentId) : undefined;
    const above = parent ? placeOf(parent) : null;
    if (above === null) return null;
    const place = above === '' ? nameKey(row.name) : `${above}/${nameKey(row.name)}`;
    memo.set(row.id, place);
    return place;
  };
  const places = new Map<string, string>();
  for (const row of rows) {
    const place = placeOf(row);
    if (place !== null) places.set(place, row.id);
  }
  return places;
}
