/**
 * Recovery of a completion cut short. A session stays in COMPLETING only while a request holds
 * its completion lease (ChunkReceipts.leaseCompletion, renewed while it works); one in
 * COMPLETING without it was left by a crash between leaving UPLOADING and finishing. What the
 * backend holds decides what happens to it:
 * - the parts were assembled and verified (assembledHash): UPLOADING with every chunk in, and the
 *   next completeUpload only places the file (a repeated commit finds the file it made: the
 *   file's id is the session's);
 * - the multipart upload is still open: UPLOADING; the chunk receipts stay or are rebuilt from
 *   listParts;
 * - the object exists but was not yet verified (the crash came right after the backend's
 *   complete): it is hashed from the stored bytes; when that gives the declared hash (or none was
 *   declared) it is assembled, otherwise the bytes go and the session starts over;
 * - neither: FAILED (upload_bytes_missing), since nothing is left to complete.
 * Runs on the next read of the session (so a client is never refused for a dead completion) and
 * from the sweeper.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../platform/errors.ts';
import { BlockHasher } from '../files/content-hash.ts';
import type { SessionCore, UploadsDeps } from './session.core.ts';
import type { UploadSessionRow } from './uploads.entities.ts';

type Deps = Pick<UploadsDeps, 'sessions' | 'receipts' | 'storage'>;

export async function recoverCompletion(core: SessionCore, deps: Deps, row: UploadSessionRow): Promise<void> {
  if (row.status !== 'COMPLETING') return;
  const lease = await deps.receipts.leaseCompletion(row.id);
  if (!lease) return; // a completion (or another recovery) is at work
  try {
    const fresh = await deps.sessions.findOwned(row.ownerId, row.id);
    if (!fresh || fresh.status !== 'COMPLETING') {
      if (fresh) Object.assign(row, fresh);
      return;
    }
    await recoverFrom(core, deps, row);
  } finally {
    await deps.receipts.releaseCompletion(row.id, lease);
  }
}

/** Decides by what the backend holds (the list in the comment above), under the lease. */
async function recoverFrom(core: SessionCore, deps: Deps, row: UploadSessionRow): Promise<void> {
  if (row.assembledHash) {
    await core.transition(row, ['COMPLETING'], 'UPLOADING');
    return;
  }
  const store = deps.storage.store(row.backend);
  if (row.multipartId && (await multipartOpen(deps, row))) {
    await core.transition(row, ['COMPLETING'], 'UPLOADING');
    return;
  }
  if (await store.head(row.storageKey)) {
    const contentHash = await hashStored(deps, row);
    if (!row.contentHash || contentHash === row.contentHash) {
      await core.transition(row, ['COMPLETING'], 'UPLOADING', { assembledHash: contentHash, multipartId: '' });
      return;
    }
    await restartUpload(core, deps, row, 'COMPLETING');
    return;
  }
  await core.moveTo(row, 'FAILED', { failureReason: 'upload_bytes_missing: the completion was interrupted and the bytes are gone' });
  await deps.receipts.clear(row.id);
}

async function multipartOpen(deps: Deps, row: UploadSessionRow): Promise<boolean> {
  return deps.storage
    .store(row.backend)
    .listParts(row.storageKey, row.multipartId)
    .then(
      () => true,
      (error: unknown) => {
        if (AppError.is(error, 'NOT_FOUND')) return false;
        throw error;
      },
    );
}

/** The content hash of the session's assembled object, read back from the backend. */
export async function hashStored(deps: Pick<Deps, 'storage'>, row: UploadSessionRow): Promise<string> {
  const { body } = await deps.storage.store(row.backend).get(row.storageKey);
  const hasher = new BlockHasher();
  await pipeline(body, hasher, new Writable({ write: (_c, _e, cb) => cb() }));
  return hasher.contentHash();
}

/** Drops assembled bytes that did not give the declared hash: a new multipart upload, no chunk in. */
export async function restartUpload(core: SessionCore, deps: Deps, row: UploadSessionRow, from: 'COMPLETING'): Promise<void> {
  const store = deps.storage.store(row.backend);
  await store.delete(row.storageKey).catch(() => undefined);
  const multipartId = await store.createMultipart(row.storageKey, row.mimeType ? { contentType: row.mimeType } : {});
  await deps.receipts.clear(row.id);
  await deps.receipts.init(row.id);
  await core.transition(row, [from], 'UPLOADING', { multipartId, assembledHash: null });
}
