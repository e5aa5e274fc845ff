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
  constructor(private readonly repo: FilePropertiesRepository) {}

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
}
