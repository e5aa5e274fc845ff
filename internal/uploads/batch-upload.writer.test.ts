/**
 * What uploadFiles does with the stored bytes when its transaction does not go through, against
 * service clients and a store that only record what they are asked (the e2e suite,
 * test/e2e/upload-files.e2e.test.ts, runs the rest on the real services). A refusal (nothing was
 * recorded) sends each file to be committed alone; any other failure leaves it unknown whether the
 * transaction committed, so no byte is deleted: an orphan object fsck finds, never a file whose
 * bytes are gone.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AppError } from '../platform/errors.ts';
import { writeBatchUpload, type BatchFile } from './batch-upload.writer.ts';
import type { SimpleUploadPorts } from './simple-upload.writer.ts';

function ports(commitFiles: () => Promise<unknown>) {
  const log: string[] = [];
  let n = 0;
  const part = (name: string): BatchFile => ({
    part: Promise.resolve({ filename: name, mimetype: 'text/plain', createReadStream: () => Readable.from([Buffer.from('abc')]) }),
    size: 3,
  });
  const clients = {
    files: {
      batch: {
        uploadTargets: { query: async () => ({ parentId: 'p', parentPath: '/u/p/', used: 0, limit: 1000, names: [] }) },
        commitFiles: { mutate: async () => (log.push('commitFiles'), commitFiles()) },
      },
      commitFile: { mutate: async (input: { storageKey: string; name: string }) => (log.push(`commitFile ${input.storageKey}`), { file: { id: `f-${input.name}`, name: input.name }, duplicate: null }) },
    },
    uploads: { reserved: { query: async () => ({ bytes: 0 }) } },
  };
  const storage = { defaultBackend: () => ({ name: 'b' }), store: () => ({ delete: async (key: string) => void log.push(`delete ${key}`) }) };
  const blobWriter = {
    write: async (body: Readable) => {
      for await (const _ of body) void _;
      return { backend: 'b', storageKey: `k${++n}`, size: 3, contentHash: 'h'.repeat(64) };
    },
  };
  const p = { clients, storage, blobWriter } as unknown as SimpleUploadPorts;
  const batch = { parentId: null, files: [part('a.txt'), part('b.txt')], conflict: 'FAIL' as const, limit: { bytes: 100, operation: 'uploadFiles' }, bodyFailure: () => false };
  return { log, run: () => writeBatchUpload(p, batch) };
}

describe('writeBatchUpload when its transaction does not go through', () => {
  it('a refusal (a name taken meanwhile): each file committed alone, its own answer', async () => {
    const { log, run } = ports(() => Promise.reject(new AppError('CONFLICT', 'taken', { details: { field: 'name', reason: 'name_taken' } })));
    const outcomes = await run();
    expect(outcomes.map((o) => o.file?.name)).toEqual(['a.txt', 'b.txt']);
    expect(log).toEqual(['commitFiles', 'commitFile k1', 'commitFile k2']);
  });

  it('any other failure (its outcome unknown): each file fails with it, and no byte is deleted', async () => {
    const { log, run } = ports(() => Promise.reject(new AppError('UNAVAILABLE', 'the files service did not answer')));
    const outcomes = await run();
    expect(outcomes.map((o) => o.error?.code)).toEqual(['UNAVAILABLE', 'UNAVAILABLE']);
    expect(log).toEqual(['commitFiles']);
  });
});
