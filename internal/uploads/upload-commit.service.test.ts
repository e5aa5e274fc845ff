/**
 * The one commit path, against a files port and a store that only record what they are asked:
 * what happens to the stored bytes on success (a duplicate goes, after the caller's own step) and
 * on refusal (the request's bytes go, a session's stay with words saying so, a shared blob is never
 * touched). Pure logic: no service needed.
 */
import { describe, expect, it } from 'vitest';
import type { FileDto } from '../files/index.ts';
import { AppError } from '../platform/errors.ts';
import type { StorageRouter } from '../storage/index.ts';
import type { FilesPort } from './files.port.ts';
import { commitUpload, type CommitOptions, type StoredUpload } from './upload-commit.service.ts';

const upload: StoredUpload = { parentId: 'p', name: 'a.txt', size: 3, contentHash: 'h'.repeat(64), mimeType: 'text/plain', backend: 'b1', storageKey: 'k1' };
const file = { id: 'f1', name: 'a.txt' } as FileDto;

function ports(answer: () => ReturnType<FilesPort['commitFile']>) {
  const log: string[] = [];
  const storage = { store: (backend: string) => ({ delete: async (key: string) => void log.push(`delete ${backend}:${key}`) }) } as unknown as StorageRouter;
  const files = { commitFile: async (input: Parameters<FilesPort['commitFile']>[0]) => (log.push(`commit ${input.backend}:${input.storageKey}`), answer()) };
  return { log, ports: { files, storage } };
}

const steps = (log: string[]): Pick<CommitOptions, 'committed' | 'refused'> => ({
  committed: async (f) => void log.push(`committed ${f.id}`),
  refused: async () => void log.push('refused'),
});

describe('commitUpload', () => {
  it('records the file, runs the caller’s step, then deletes the duplicate bytes', async () => {
    const { log, ports: p } = ports(async () => ({ file, duplicate: { backend: 'b1', storageKey: 'k1' } }));
    for (const bytes of ['request', 'session'] as const) {
      log.length = 0;
      expect(await commitUpload(p, upload, { bytes, ...steps(log) })).toBe(file);
      expect(log).toEqual(['commit b1:k1', 'committed f1', 'delete b1:k1']);
    }
  });

  it('never deletes a stored blob other files use, even when answered as a duplicate', async () => {
    const { log, ports: p } = ports(async () => ({ file, duplicate: { backend: 'b1', storageKey: 'k1' } }));
    await commitUpload(p, upload, { bytes: 'stored', ...steps(log) });
    expect(log).toEqual(['commit b1:k1', 'committed f1']);
  });

  it('deletes nothing when the content was new', async () => {
    const { log, ports: p } = ports(async () => ({ file, duplicate: null }));
    await commitUpload(p, upload, { bytes: 'request' });
    expect(log).toEqual(['commit b1:k1']);
  });

  it("a request's bytes go when the file is refused, and the files service's error is the answer", async () => {
    const taken = new AppError('CONFLICT', 'An item named "a.txt" already exists in this folder', { details: { field: 'name', reason: 'name_taken' } });
    const { log, ports: p } = ports(() => Promise.reject(taken));
    await expect(commitUpload(p, upload, { bytes: 'request', ...steps(log) })).rejects.toBe(taken);
    expect(log).toEqual(['commit b1:k1', 'refused', 'delete b1:k1']);
  });

  it("a session's bytes stay: a name taken keeps its code and details, and says the bytes are kept", async () => {
    const taken = new AppError('CONFLICT', 'An item named "a.txt" already exists in this folder', { details: { field: 'name', reason: 'name_taken' } });
    const { log, ports: p } = ports(() => Promise.reject(taken));
    const error = await commitUpload(p, upload, { bytes: 'session', ...steps(log) }).catch((e: unknown) => e);
    expect(AppError.is(error, 'CONFLICT')).toBe(true);
    expect((error as AppError).message).toBe('An item named "a.txt" already exists in this folder; complete the upload with another name. The uploaded bytes are kept.');
    expect((error as AppError).details).toEqual({ field: 'name', reason: 'name_taken' });
    expect(log).toEqual(['commit b1:k1', 'refused']);
  });

  it("a session whose folder is gone: CONFLICT parent_gone; other errors unchanged", async () => {
    const gone = new AppError('NOT_FOUND', 'No such folder');
    const { ports: p } = ports(() => Promise.reject(gone));
    const error = await commitUpload(p, upload, { bytes: 'session' }).catch((e: unknown) => e);
    expect(AppError.is(error, 'CONFLICT')).toBe(true);
    expect((error as AppError).details).toEqual({ field: 'parentId', reason: 'parent_gone' });
    const quota = new AppError('QUOTA_EXCEEDED', 'Not enough storage space left', { details: { needed: 3 } });
    const { log, ports: q } = ports(() => Promise.reject(quota));
    await expect(commitUpload(q, upload, { bytes: 'session' })).rejects.toBe(quota);
    expect(log).toEqual(['commit b1:k1']);
  });

  it('a stored blob is left alone when the file is refused', async () => {
    const taken = new AppError('CONFLICT', 'taken', { details: { reason: 'name_taken' } });
    const { log, ports: p } = ports(() => Promise.reject(taken));
    await expect(commitUpload(p, upload, { bytes: 'stored' })).rejects.toBe(taken);
    expect(log).toEqual(['commit b1:k1']);
  });
});
