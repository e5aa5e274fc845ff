/**
 * The one way stored bytes become a file, whatever brought them: uploadFile and (coming) WebDAV
 * PUT after one BlobWriter write (simple-upload.writer.ts), completeUpload and (coming) tus after a
 * session's multipart upload was assembled (completion.service.ts), proveOwnership with a blob that
 * is already stored. The files service records it in one transaction (files.commitFile): the
 * quota charged, the blob recorded — or shared, when the same content is stored already, and then
 * the bytes just written are a duplicate that goes — and the file row inserted.
 *
 * What a refusal (name taken, folder gone, quota) does with the bytes depends on whose they are:
 * - 'request': written by this request alone: they go, and the files service's error is the answer;
 * - 'session': an upload session's assembled object: they stay, so the client can complete again
 *   under another name or folder, and the error says so (same code and details);
 * - 'stored': a blob that other files use (instant upload): never touched.
 */
import type { FileDto } from '../files/index.ts';
import { AppError } from '../platform/errors.ts';
import type { StorageRouter } from '../storage/index.ts';
import type { FilesPort } from './files.port.ts';
import { MAX_RENAMES, renamed } from './upload-links/upload-links.rules.ts';

export interface StoredUpload {
  /** The file's id: a session's own id, so a repeated commit finds the file it made. */
  id?: string;
  parentId: string;
  name: string;
  size: number;
  contentHash: string;
  mimeType: string | null;
  backend: string;
  storageKey: string;
  /** A live file of the person's that takes this content in place (WebDAV PUT over an existing file). */
  replaces?: string;
  /** The folder's path as the pre-checks read it (files.uploadTarget): the commit then reads no folder. */
  parentPath?: string;
  /** The file-drop link it arrived through: recorded as the owner's DROP_RECEIVED, not UPLOADED. */
  uploadLinkId?: string | null;
}

export interface CommitOptions {
  bytes: 'request' | 'session' | 'stored';
  /**
   * Runs once the file is recorded, before a duplicate's bytes are deleted (a session is marked
   * COMPLETED there: a crash in between leaves an orphaned object fsck finds, never a file whose
   * bytes were deleted).
   */
  committed?: (file: FileDto) => Promise<void>;
  /** Runs when the file could not be recorded, before the error is thrown (a session goes back to UPLOADING). */
  refused?: () => Promise<void>;
  /**
   * What a name already taken in the folder does: FAIL (CONFLICT name_taken, the default) or RENAME
   * (the first free `name (1).ext`, `name (2).ext` …: file drops) or NEW_VERSION (a live file of
   * that name takes the content, its old content kept as a version; a folder of that name is still
   * CONFLICT: files versions/versions.commit.ts).
   */
  conflict?: ConflictPolicy;
}

export type ConflictPolicy = 'FAIL' | 'RENAME' | 'NEW_VERSION';

export interface CommitPorts {
  files: Pick<FilesPort, 'commitFile'>;
  storage: StorageRouter;
}

export async function commitUpload(ports: CommitPorts, upload: StoredUpload, options: CommitOptions): Promise<FileDto> {
  let committed: Awaited<ReturnType<FilesPort['commitFile']>>;
  try {
    committed = await commitNamed(ports, upload, options.conflict ?? 'FAIL');
  } catch (error) {
    await options.refused?.();
    throw await refusal(ports, upload, options.bytes, error);
  }
  await options.committed?.(committed.file);
  // Same content already stored: the new file points at the old blob; these bytes go.
  if (committed.duplicate && options.bytes !== 'stored') {
    await ports.storage.store(committed.duplicate.backend).delete(committed.duplicate.storageKey).catch(() => undefined);
  }
  // A replaced file's old content that no file uses any more: its rows are gone, its bytes go now
  // (a failure leaves an orphan object for fsck, never a file pointing at missing bytes).
  for (const blob of committed.freed ?? []) await ports.storage.store(blob.backend).delete(blob.storageKey).catch(() => undefined);
  return committed.file;
}

/**
 * commitFile under the upload's name or, with RENAME, under the first free `name (n).ext`: each
 * try is the files service's one transaction, so two uploads racing for a name never both get it.
 */
async function commitNamed(ports: CommitPorts, upload: StoredUpload, conflict: ConflictPolicy): ReturnType<FilesPort['commitFile']> {
  if (conflict === 'NEW_VERSION') return ports.files.commitFile({ ...upload, newVersion: true });
  for (let n = 0; ; n++) {
    try {
      return await ports.files.commitFile(n === 0 ? upload : { ...upload, name: renamed(upload.name, n) });
    } catch (error) {
      const taken = AppError.is(error, 'CONFLICT') && error.details?.reason === 'name_taken';
      if (conflict !== 'RENAME' || !taken || n >= MAX_RENAMES) throw error;
    }
  }
}

async function refusal(ports: CommitPorts, upload: StoredUpload, bytes: CommitOptions['bytes'], error: unknown): Promise<unknown> {
  switch (bytes) {
    case 'request':
      await ports.storage.store(upload.backend).delete(upload.storageKey).catch(() => undefined);
      return error;
    case 'session':
      return placementError(error);
    case 'stored':
      return error;
  }
}

/** A file that could not be placed: the same code, and the words that the bytes are kept. */
function placementError(error: unknown): unknown {
  if (AppError.is(error, 'NOT_FOUND')) {
    return new AppError('CONFLICT', 'The folder of this upload is gone (trashed or deleted); complete it into another folder. The uploaded bytes are kept.', { details: { field: 'parentId', reason: 'parent_gone' }, cause: error });
  }
  if (AppError.is(error, 'CONFLICT')) {
    return new AppError('CONFLICT', `${error.message}; complete the upload with another name. The uploaded bytes are kept.`, { details: error.details, cause: error });
  }
  return error;
}
